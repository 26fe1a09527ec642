#!/usr/bin/env bash
# Regenerates src/LstmSharp/Interop/Onnx/Proto/Onnx.g.cs from ../shared/onnx/onnx.proto3
# (ONNX 1.23.0, IR version 13) with protoc 36.2 from NuGet Google.Protobuf.Tools 3.36.2.
# The only change to the schema is a csharp_namespace option; classes are generated internal.
set -euo pipefail
cd "$(dirname "$0")/.."
proto=${1:-../shared/onnx/onnx.proto3}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/p.csproj" <<'XML'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageReference Include="Google.Protobuf.Tools" Version="3.36.2" /></ItemGroup>
</Project>
XML
dotnet restore "$tmp/p.csproj" >/dev/null
protoc=$(find "${NUGET_PACKAGES:-$HOME/.nuget/packages}/google.protobuf.tools/3.36.2/tools/linux_x64" -name protoc)
chmod +x "$protoc"
mkdir -p "$tmp/in"
{ sed -n '1,/^package onnx;/p' "$proto"
  echo 'option csharp_namespace = "LstmSharp.Interop.Onnx.Proto";'
  sed -n '/^package onnx;/,$p' "$proto" | tail -n +2; } > "$tmp/in/onnx.proto3"
"$protoc" --proto_path="$tmp/in" --csharp_out=src/LstmSharp/Interop/Onnx/Proto \
  --csharp_opt=internal_access,file_extension=.g.cs "$tmp/in/onnx.proto3"
echo "generated src/LstmSharp/Interop/Onnx/Proto/Onnx.g.cs from $(sha256sum "$proto" | cut -c1-16)"
