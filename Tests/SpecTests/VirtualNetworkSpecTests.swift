import Foundation
import Testing
@testable import Spec

/// A Host `kvm-01` (lines 1-7), `---` (line 8) and a Network `lab` whose `spec:` is on line 13,
/// so the first spec line is line 14, keys at column 3.
func hostAndNetwork(spec: String, name: String = "lab") -> String {
    hostAndVM(spec: spec, name: name).replacingOccurrences(of: "kind: VirtualMachine", with: "kind: Network")
}

@Suite("Network documents")
struct VirtualNetworkSpecTests {
    func load(_ spec: String) throws -> NetworkSpec {
        try #require(try ManifestLoader.load(files: [("m.yaml", hostAndNetwork(spec: spec))]).networks.first?.value)
    }

    @Test func anIsolatedNetworkWithDHCPAndStaticHosts() throws {
        let network = try load("""
            host: kvm-01
            mode: isolated
            bridge: vmplan-lab
            address: 198.18.0.1/24
            dhcp:
              range: {start: 198.18.0.100, end: 198.18.0.199}
              hosts:
                - {mac: "52:54:00:00:00:0B", ip: 198.18.0.11, name: web-2}
                - {mac: "52-54-00-00-00-0a", ip: 198.18.0.10}
            domain: lab.test
            mtu: 9000
            """)
        let address = try #require(IPv4Interface(parsing: "198.18.0.1/24"))
        let ip = { (text: String) in IPv4Address(parsing: text)! }
        #expect(network == NetworkSpec(
            name: "lab", host: "kvm-01", mode: .isolated, bridge: "vmplan-lab", address: address,
            dhcp: DHCPSpec(range: .init(start: ip("198.18.0.100"), end: ip("198.18.0.199")), hosts: [
                .init(mac: "52:54:00:00:00:0a", ip: ip("198.18.0.10")),
                .init(mac: "52:54:00:00:00:0b", ip: ip("198.18.0.11"), name: "web-2"),
            ]),
            domain: "lab.test", mtu: 9000))
        #expect(network.dhcp?.hosts.map(\.mac) == ["52:54:00:00:00:0a", "52:54:00:00:00:0b"], "kept by MAC, canonical")
        #expect(network.shortDescription == "isolated 198.18.0.1/24, DHCP 198.18.0.100-198.18.0.199, 2 static hosts")
    }

    @Test func natAndBridgeNetworks() throws {
        let nat = try load("host: kvm-01\nmode: nat\naddress: 198.18.1.1/24")
        #expect(nat.mode == .nat && nat.bridge == nil && nat.dhcp == nil)
        let bridged = try load("host: kvm-01\nmode: bridge\nbridge: br0")
        #expect(bridged == NetworkSpec(name: "lab", host: "kvm-01", mode: .bridge, bridge: "br0"))
        #expect(bridged.shortDescription == "bridge br0")
        let layer2 = try load("host: kvm-01\nmode: isolated")
        #expect(layer2.address == nil && layer2.shortDescription == "isolated without IP")
    }

    @Test func aSpecSurvivesItsRecordAndKeepsItsHash() throws {
        let network = try load("host: kvm-01\nmode: isolated\naddress: 198.18.0.1/24\ndhcp: {hosts: [{mac: \"52:54:00:00:00:01\", ip: 198.18.0.5}]}")
        let json = try CanonicalJSON.string(network)
        #expect(json == #"{"address":"198.18.0.1\/24","dhcp":{"hosts":[{"ip":"198.18.0.5","mac":"52:54:00:00:00:01"}]},"host":"kvm-01","mode":"isolated","name":"lab"}"#)
        #expect(try JSONDecoder().decode(NetworkSpec.self, from: Data(json.utf8)) == network)
        #expect(network.specHash == Fingerprint.of(network))
    }

    @Test func modesTakeWhatTheyCanUse() {
        #expect(diagnostics(hostAndNetwork(spec: "host: kvm-01\nmode: bridge\naddress: 198.18.0.1/24\ndhcp: {range: {start: 198.18.0.2, end: 198.18.0.9}}\ndomain: lab.test\nmtu: 9000")) == [
            "m.yaml:14:3: error: missing required field 'bridge' in Network spec (mode: bridge needs the host bridge's name, such as br0)",
            "m.yaml:16:3: error: address does not belong in a mode: bridge network: the host bridge's addresses, DHCP and MTU are the host's own (configure them there), libvirt only plugs NICs into it",
            "m.yaml:17:3: error: dhcp does not belong in a mode: bridge network: the host bridge's addresses, DHCP and MTU are the host's own (configure them there), libvirt only plugs NICs into it",
            "m.yaml:18:3: error: domain does not belong in a mode: bridge network: the host bridge's addresses, DHCP and MTU are the host's own (configure them there), libvirt only plugs NICs into it",
            "m.yaml:19:3: error: mtu does not belong in a mode: bridge network: the host bridge's addresses, DHCP and MTU are the host's own (configure them there), libvirt only plugs NICs into it",
        ])
        #expect(diagnostics(hostAndNetwork(spec: "host: kvm-01\nmode: nat")) == [
            "m.yaml:14:3: error: missing required field 'address' in Network spec (mode: nat needs the host's address on it, such as 198.18.0.1/24)",
        ])
        #expect(diagnostics(hostAndNetwork(spec: "host: kvm-01\nmode: isolated\ndhcp: {hosts: []}\ndomain: lab.test")) == [
            "m.yaml:16:3: error: dhcp needs an address: DHCP and DNS run on the host's address in the network (add address: 198.18.0.1/24)",
            "m.yaml:17:3: error: domain needs an address: DHCP and DNS run on the host's address in the network (add address: 198.18.0.1/24)",
        ])
        #expect(diagnostics(hostAndNetwork(spec: "host: kvm-01\nmode: routed")) == [
            "m.yaml:15:9: error: mode must be one of isolated, nat, bridge; got 'routed'",
        ])
        #expect(diagnostics(hostAndNetwork(spec: "host: kvm-01\nmode: isolate")) == [
            "m.yaml:15:9: error: mode must be one of isolated, nat, bridge; got 'isolate'; did you mean 'isolated'?",
        ])
        #expect(diagnostics(hostAndNetwork(spec: "host: kvm-01\nmode: isolated\nforward: nat")) == [
            "m.yaml:16:3: error: unknown field 'forward' in Network spec; valid fields: host, import, mode, bridge, address, dhcp, domain, mtu",
        ])
    }

    @Test func importTakesTheNetworksUUIDAndLeavesTheHashAlone() throws {
        let imported = try load("host: kvm-01\nimport: {uuid: 5B3F0A6E-0000-4000-8000-000000000001}\nmode: isolated")
        #expect(imported.importing == NetworkImport(uuid: "5b3f0a6e-0000-4000-8000-000000000001"))
        #expect(imported.specHash == (try load("host: kvm-01\nmode: isolated")).specHash, "import is never part of the recorded spec")
        #expect(diagnostics(hostAndNetwork(spec: "host: kvm-01\nimport: {uuid: lab}\nmode: isolated")) == [
            "m.yaml:15:18: error: import.uuid must be the network's UUID as `virsh net-uuid NAME` prints it, such as "
                + "\"6f1c9a4e-2b7d-4c3a-9e8f-0a1b2c3d4e5f\"; got 'lab'",
        ])
        #expect(diagnostics(hostAndNetwork(spec: "host: kvm-01\nimport: {name: lab}\nmode: isolated")).contains { $0.contains("unknown field 'name' in import") })
    }

    @Test func namesAndNumbersAreCheckedBeforeTheyReachXML() {
        let spec = """
            host: kvm-01
            mode: isolated
            bridge: a-bridge-too-long
            address: 198.18.0.1/24
            domain: "-lab.test"
            mtu: 70000
            """
        #expect(diagnostics(hostAndNetwork(spec: spec)) == [
            "m.yaml:16:11: error: bridge must be \(NetworkNames.bridgeRule); got 'a-bridge-too-long'",
            "m.yaml:18:11: error: domain must be \(NetworkNames.domainRule); got '-lab.test'",
            "m.yaml:19:8: error: mtu must be an integer from 68 to 65535; got '70000'",
        ])
        #expect(diagnostics(hostAndNetwork(spec: "host: kvm-01\nmode: bridge\nbridge: \"br0;reboot\"")) == [
            "m.yaml:16:11: error: bridge must be \(NetworkNames.bridgeRule); got 'br0;reboot'",
        ])
        #expect(diagnostics(hostAndNetwork(spec: "host: kvm-01\nmode: isolated", name: "bad/name")) == [
            "m.yaml:12:9: error: metadata.name 'bad/name' is not a valid name: \(ResourceName.rule)",
        ])
    }

    @Test func theAddressIsTheHostsAndNamesItsSubnet() {
        func errors(_ address: String) -> [String] {
            diagnostics(hostAndNetwork(spec: "host: kvm-01\nmode: isolated\naddress: \(address)"))
        }
        #expect(errors("198.18.0.1") == [
            "m.yaml:16:12: error: address must be the host's IPv4 address on the network with the prefix length, such as 198.18.0.1/24; got '198.18.0.1'",
        ])
        #expect(errors("198.18.0.256/24").count == 1)
        #expect(errors("198.18.00.1/24").count == 1, "a leading zero is refused")
        #expect(errors("198.18.0.1/31") == [
            "m.yaml:16:12: error: address needs a prefix length from 8 to 30 (room for the host and a guest); got /31",
        ])
        #expect(errors("198.18.0.0/24") == [
            "m.yaml:16:12: error: address 198.18.0.0 is the network address of 198.18.0.0/24; give the host an address inside it, such as 198.18.0.1/24",
        ])
        #expect(errors("198.18.0.255/24") == [
            "m.yaml:16:12: error: address 198.18.0.255 is the broadcast address of 198.18.0.0/24; give the host an address inside it, such as 198.18.0.1/24",
        ])
    }

    @Test func everyDHCPAddressIsAGuestsInTheSubnet() {
        let spec = """
            host: kvm-01
            mode: isolated
            address: 198.18.0.1/24
            dhcp:
              range: {start: 198.18.0.200, end: 198.18.0.100}
              hosts:
                - {mac: "52:54:00:00:00:01", ip: 198.18.1.5}
                - {mac: "52:54:00:00:00:02", ip: 198.18.0.1}
                - {mac: "52:54:00:00:00:03", ip: 198.18.0.255}
                - {mac: "01:00:5e:00:00:01", ip: 198.18.0.6}
                - {mac: "52:54:00:00:00:05", ip: 198.18.0.7, name: "web_1"}
                - {mac: "52:54:00:00:00:06", ip: 198.18.0.8, name: web}
                - {mac: "52:54:00:00:00:06", ip: 198.18.0.9}
                - {mac: "52:54:00:00:00:07", ip: 198.18.0.8}
                - {mac: "52:54:00:00:00:08", ip: 198.18.0.10, name: web}
                - {ip: 198.18.0.11}
            """
        #expect(diagnostics(hostAndNetwork(spec: spec)) == [
            "m.yaml:18:12: error: dhcp.range ends (198.18.0.100) before it starts (198.18.0.200)",
            "m.yaml:20:40: error: dhcp.hosts.ip 198.18.1.5 is outside the network's subnet 198.18.0.0/24",
            "m.yaml:21:40: error: dhcp.hosts.ip 198.18.0.1 is the host's own address on the network (address: 198.18.0.1/24); a guest cannot have it",
            "m.yaml:22:40: error: dhcp.hosts.ip 198.18.0.255 is the broadcast address of 198.18.0.0/24; a guest cannot have it",
            "m.yaml:23:15: error: dhcp.hosts.mac must be a unicast MAC address such as \"52:54:00:12:34:56\" (six hex pairs; the first byte even)",
            "m.yaml:24:58: error: dhcp.hosts.name must be \(NetworkNames.hostNameRule); got 'web_1'",
            "m.yaml:26:9: error: two dhcp.hosts entries have the MAC 52:54:00:00:00:06 (the other: 52:54:00:00:00:06=198.18.0.8 (web)); each entry needs its own MAC, address and name",
            "m.yaml:27:9: error: two dhcp.hosts entries have the address 198.18.0.8 (the other: 52:54:00:00:00:06=198.18.0.8 (web)); each entry needs its own MAC, address and name",
            "m.yaml:28:9: error: two dhcp.hosts entries have the name web (the other: 52:54:00:00:00:06=198.18.0.8 (web)); each entry needs its own MAC, address and name",
            "m.yaml:29:9: error: missing required field 'mac' in a dhcp.hosts entry",
        ])
    }

    @Test func aRangeStaysInsideTheSubnetAndOffTheHostsAddress() {
        func errors(_ range: String) -> [String] {
            diagnostics(hostAndNetwork(spec: "host: kvm-01\nmode: isolated\naddress: 198.18.0.1/24\ndhcp: {range: \(range)}"))
        }
        #expect(errors("{start: 198.18.0.2, end: 198.18.1.9}") == [
            "m.yaml:17:42: error: dhcp.range.end 198.18.1.9 is outside the network's subnet 198.18.0.0/24",
        ])
        #expect(errors("{start: 198.18.0.0, end: 198.18.0.9}") == [
            "m.yaml:17:25: error: dhcp.range.start 198.18.0.0 is the network address of 198.18.0.0/24; a guest cannot have it",
        ])
        #expect(errors("{start: 198.18.0.2, end: 198.18.0.x}") == [
            "m.yaml:17:42: error: dhcp.range.end must be an IPv4 address such as 198.18.0.10; got '198.18.0.x'",
        ])
        let around = diagnostics(hostAndNetwork(spec: "host: kvm-01\nmode: isolated\naddress: 198.18.0.9/24\ndhcp: {range: {start: 198.18.0.2, end: 198.18.0.20}}"))
        #expect(around == [
            "m.yaml:17:17: error: dhcp.range 198.18.0.2-198.18.0.20 includes the host's own address 198.18.0.9; start it after, or end it before, that address",
        ])
        #expect(errors("{start: 198.18.0.2}") == ["m.yaml:17:17: error: missing required field 'end' in dhcp.range"])
        #expect(diagnostics(hostAndNetwork(spec: "host: kvm-01\nmode: isolated\naddress: 198.18.0.1/24\ndhcp: {}")) == [
            "m.yaml:17:9: error: dhcp needs a range (addresses to hand out), hosts (fixed addresses by MAC), or both",
        ])
    }

    @Test func networksOfOneHostNeedTheirOwnBridgeAndSubnet() {
        func network(_ name: String, host: String = "kvm-01", _ spec: String) -> String {
            "---\napiVersion: vmplan/v1\nkind: Network\nmetadata: {name: \(name)}\nspec: {host: \(host), mode: isolated, \(spec)}\n"
        }
        let hosts = hostAndVM(spec: "host: kvm-01\nvcpus: 1\nmemory: 64MiB")
            + "---\napiVersion: vmplan/v1\nkind: Host\nmetadata: {name: kvm-02}\nspec: {uri: 'qemu+ssh://kvm-02/system', hypervisor: kvm}\n"
        let yaml = hosts
            + network("a", "bridge: vmbr1, address: 198.18.0.1/24")
            + network("b", "bridge: vmbr1, address: 198.18.0.129/25")
            + network("c", host: "kvm-02", "bridge: vmbr1, address: 198.18.0.1/24")
            + network("d", host: "kvm-03", "address: 198.18.9.1/24")
        #expect(diagnostics(yaml) == [
            "m.yaml:28:1: error: Network 'b' uses bridge vmbr1, which Network 'a' (at m.yaml:23:1) also uses on host 'kvm-01'; each network needs its own bridge",
            "m.yaml:28:1: error: Network 'b' (198.18.0.128/25) overlaps Network 'a' (198.18.0.0/24, at m.yaml:23:1) on host 'kvm-01'; the host could not route either: give them separate subnets",
            "m.yaml:41:14: error: host 'kvm-03' is not defined by any Host document; known hosts: kvm-01, kvm-02; did you mean 'kvm-01'?",
        ])
    }

    /// The demo pins demo-web's address with a static host for the MAC vmplan derives for its NIC.
    @Test func theDemosStaticHostIsDemoWebsNIC() throws {
        let demo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("manifests/demo").path
        let manifest = try ManifestLoader.load(path: demo)
        let web = try #require(manifest.virtualMachines.first { $0.value.name == "demo-web" }?.value)
        let pinned = try #require(manifest.networks.first?.value.dhcp?.hosts.first { $0.name == "demo-web" })
        #expect(web.networks?.first?.mac == pinned.mac)
    }

    @Test func aVMsNICsAreLocatedForPlanTimeErrors() throws {
        let yaml = hostAndVM(spec: "host: kvm-01\nvcpus: 1\nmemory: 64MiB\nnetworks:\n  - {bridge: br0}\n  - {network: lab}")
        let manifest = try ManifestLoader.load(files: [("m.yaml", yaml)])
        #expect(manifest.nicLocations["web-1"] == [1: SourceLocation(file: "m.yaml", line: 19, column: 17)])
    }
}
