import Foundation

extension Duration {
    /// `120s` for whole seconds, `2.5s` otherwise: how vmplan shows elapsed times and timeouts.
    public var formattedSeconds: String {
        let seconds = Double(components.seconds) + Double(components.attoseconds) / 1e18
        return seconds == seconds.rounded() ? "\(Int(seconds))s" : String(format: "%.1fs", seconds)
    }
}
