import HarnessCore

/// A binary min-heap of (time, index) pairs: time first, then index, so ties break the same way every run.
public struct TimeHeap: Sendable {
    @usableFromInline struct Entry: Sendable {
        @usableFromInline var time: Int64
        @usableFromInline var id: Int32
        @usableFromInline init(time: Int64, id: Int32) { self.time = time; self.id = id }
        @inlinable @inline(__always) func less(_ o: Entry) -> Bool { time < o.time || (time == o.time && id < o.id) }
    }
    @usableFromInline var items: ContiguousArray<Entry> = []

    @inlinable public var isEmpty: Bool { items.isEmpty }
    @inlinable public var count: Int { items.count }
    @inlinable public var minTime: Int64? { items.first?.time }
    @inlinable public var minID: Int32? { items.first?.id }

    public init(capacity: Int = 0) { items.reserveCapacity(capacity) }

    @inlinable public mutating func push(_ time: Int64, _ id: Int32) {
        items.append(Entry(time: time, id: id))
        items.withUnsafeMutableBufferPointer { h in
            var i = h.count - 1
            let e = h[i]
            while i > 0 {
                let p = (i - 1) >> 1
                if !e.less(h[p]) { break }
                h[i] = h[p]
                i = p
            }
            h[i] = e
        }
    }

    @discardableResult
    @inlinable public mutating func pop() -> (time: Int64, id: Int32)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty { sift(last) }
        return (top.time, top.id)
    }

    /// Replaces the minimum with a new entry (cheaper than pop + push).
    @inlinable public mutating func replaceMin(_ time: Int64, _ id: Int32) {
        sift(Entry(time: time, id: id))
    }

    /// Puts `e` at the root and sifts it down.
    @inlinable @inline(__always)
    mutating func sift(_ e: Entry) {
        items.withUnsafeMutableBufferPointer { h in
            let n = h.count
            var i = 0
            while true {
                let l = 2 * i + 1
                if l >= n { break }
                var c = l
                if l + 1 < n, h[l + 1].less(h[l]) { c = l + 1 }
                if !h[c].less(e) { break }
                h[i] = h[c]
                i = c
            }
            h[i] = e
        }
    }
}
