import State

extension StateStore {
    /// A write as the current lock holder (or without the lock, when none is held) at the current
    /// serial: for tests about what a write records, not about who may write.
    func journalDone(_ id: Int64, update: RecordUpdate, ownership: OwnershipUpdate = .keep) throws {
        _ = try journalDone(id, update: update, ownership: ownership,
                            condition: WriteCondition(serial: try serial(), lockID: try lockHolder()?.lockID))
    }
}
