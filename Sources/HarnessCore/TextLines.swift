extension StringProtocol {
    /// The lines of a text file, LF or CR LF (a Swift `Character`, which `split(separator: "\n")` would not split),
    /// empty lines kept so that indices are line numbers − 1.
    public var textLines: [SubSequence] { split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) }
}
