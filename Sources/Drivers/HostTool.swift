import Foundation

/// Runs the few host programs storage needs (qemu-img, genisoimage) with argument arrays,
/// never through a shell. Callers pass only absolute paths they validated or created.
enum HostTool {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The first of `candidates` that is executable, or an error saying which package provides it.
    static func find(_ candidates: [String], package: String) throws -> String {
        guard let found = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw DriverError(.operation, "\(candidates.map { ($0 as NSString).lastPathComponent }.joined(separator: " or ")) is not installed on the machine running vmplan; install it with: apt-get install \(package)")
        }
        return found
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Drain stderr on another thread so a chatty tool never blocks on a full pipe.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs and throws with the tool's own message when it fails.
    @discardableResult
    static func check(_ executable: String, _ arguments: [String], doing what: String) throws -> Output {
        let output = try run(executable, arguments)
        guard output.status == 0 else {
            let detail = output.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            throw DriverError(.operation, "\(what) failed (\((executable as NSString).lastPathComponent) exit status \(output.status)): \(detail)")
        }
        return output
    }
}

/// A NoCloud seed: an ISO 9660 image with the volume label `cidata` holding user-data,
/// meta-data and network-config, built by genisoimage (or xorriso) from Debian.
enum SeedImage {
    static func build(_ files: [SeedFile]) throws -> Data {
        let allowed: Set<String> = ["user-data", "meta-data", "network-config"]
        guard !files.isEmpty, files.allSatisfy({ allowed.contains($0.name) }) else {
            throw DriverError(.invalidInput, "a seed holds only user-data, meta-data and network-config")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vmplan-seed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: directory) }
        var paths: [String] = []
        for file in files {
            let url = directory.appendingPathComponent(file.name)
            try Data(file.content.utf8).write(to: url)
            paths.append(url.path)
        }
        let iso = directory.appendingPathComponent("seed.iso").path
        let tool = try HostTool.find(["/usr/bin/genisoimage", "/usr/bin/xorriso"], package: "genisoimage")
        let prefix = tool.hasSuffix("xorriso") ? ["-as", "mkisofs"] : []
        try HostTool.check(tool, prefix + ["-output", iso, "-volid", "cidata", "-joliet", "-rock", "-quiet"] + paths,
                           doing: "building the cloud-init seed")
        guard let data = FileManager.default.contents(atPath: iso), !data.isEmpty else {
            throw DriverError(.operation, "building the cloud-init seed produced no file")
        }
        return data
    }
}

/// Image files converted into directory pools with qemu-img.
enum ImageFile {
    struct Info {
        var format: String
        var virtualSize: UInt64
        var backingFile: String?
    }

    static func info(_ path: String) throws -> Info {
        let qemuImg = try HostTool.find(["/usr/bin/qemu-img"], package: "qemu-utils")
        let output = try HostTool.check(qemuImg, ["info", "--output=json", path], doing: "reading image \(path)")
        struct JSON: Decodable {
            var format: String
            var virtualSize: UInt64
            var backingFilename: String?
            enum CodingKeys: String, CodingKey {
                case format, virtualSize = "virtual-size", backingFilename = "backing-filename"
            }
        }
        let json = try JSONDecoder().decode(JSON.self, from: Data(output.stdout.utf8))
        return Info(format: json.format, virtualSize: json.virtualSize, backingFile: json.backingFilename)
    }

    /// Converts with the source format named (never probed), so a raw image that happens to
    /// look like qcow2 cannot make QEMU open a backing file of its choosing.
    static func convert(_ source: String, format: String, to target: String, targetFormat: String) throws {
        let qemuImg = try HostTool.find(["/usr/bin/qemu-img"], package: "qemu-utils")
        try HostTool.check(qemuImg, ["convert", "-f", format, "-O", targetFormat, source, target],
                           doing: "copying image \(source) into \(target)")
    }
}
