/// What one copy between tiers did, and how far it is while it runs.
package struct CopyReport: Sendable, Hashable {
    /// Snapshots written to the target by this copy.
    package var snapshotsCopied: [SnapshotID] = []
    /// Selected snapshots the target held already.
    package var snapshotsPresent = 0
    /// Packs the copy must move (known once planned).
    package var packsPlanned = 0
    package var packsCopied = 0
    /// Packs an interrupted copy left on the target, found whole and indexed now.
    package var packsResumed = 0
    package var bytesPlanned = 0
    package var bytesCopied = 0
    package var indexObjectsWritten = 0

    package init() {}
}
