// swift-tools-version: 6.2
// Builds the protoc plugins that generate Sources/Proto; used only by scripts/generate-proto.sh.
import PackageDescription

let package = Package(
    name: "zentoria-codegen",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
    ],
    targets: []
)
