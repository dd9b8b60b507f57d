import NIOCore

/// A partition of a topic.
public struct TopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (a: TopicPartition, b: TopicPartition) -> Bool {
        a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition
    }

    public var description: String { "\(topic)/\(partition)" }
}

/// The consumer protocol's member metadata (`protocol_type` "consumer"): what a member sends in
/// JoinGroup. On the wire: an INT16 version, then `ConsumerProtocolSubscription` at that version.
public struct ConsumerSubscription: Sendable, Hashable {
    public var topics: [String]
    public var userData: [UInt8]?
    public var ownedPartitions: [TopicPartition]
    public var generationID: Int32
    public var rackID: String?

    public init(topics: [String], userData: [UInt8]? = nil, ownedPartitions: [TopicPartition] = [],
                generationID: Int32 = -1, rackID: String? = nil) {
        self.topics = topics
        self.userData = userData
        self.ownedPartitions = ownedPartitions
        self.generationID = generationID
        self.rackID = rackID
    }

    /// The bytes for JoinGroup's protocol metadata (`version` 0...3).
    public func encode(version: Int16 = 3) throws -> [UInt8] {
        var message = ConsumerProtocolSubscription(topics: topics, userData: userData, ownedPartitions: [],
                                                   generationId: version >= 2 ? generationID : -1,
                                                   rackId: version >= 3 ? rackID : nil)
        if version >= 1 {
            message.ownedPartitions = ConsumerProtocolCoding.grouped(ownedPartitions).map {
                ConsumerProtocolSubscription.TopicPartition(topic: $0.0, partitions: $0.1)
            }
        }
        var buffer = ByteBuffer()
        buffer.writeInteger(version)
        try message.encode(into: &buffer, version: version)
        return Array(buffer.readableBytesView)
    }

    /// Decodes a member's metadata. A version above the highest known one is read as the highest
    /// (newer versions only append fields), bytes after the known fields are ignored (as Java does).
    public init(decoding bytes: [UInt8]) throws {
        var buffer = ByteBuffer(bytes: bytes)
        let version = try ConsumerProtocolCoding.version(&buffer, ConsumerProtocolSubscription.validVersions)
        let m = try ConsumerProtocolSubscription(from: &buffer, version: version)
        self.topics = m.topics
        self.userData = m.userData
        self.ownedPartitions = try ConsumerProtocolCoding.flattened(m.ownedPartitions.map { ($0.topic, $0.partitions) })
        self.generationID = m.generationId
        self.rackID = m.rackId
    }
}

/// The consumer protocol's member assignment: what the leader hands each member through
/// SyncGroup. On the wire: an INT16 version, then `ConsumerProtocolAssignment`.
public struct ConsumerAssignment: Sendable, Hashable {
    public var partitions: [TopicPartition]
    public var userData: [UInt8]?

    public init(partitions: [TopicPartition], userData: [UInt8]? = nil) {
        self.partitions = partitions
        self.userData = userData
    }

    public func encode(version: Int16 = 0) throws -> [UInt8] {
        let message = ConsumerProtocolAssignment(
            assignedPartitions: ConsumerProtocolCoding.grouped(partitions).map {
                ConsumerProtocolAssignment.TopicPartition(topic: $0.0, partitions: $0.1)
            },
            userData: userData)
        var buffer = ByteBuffer()
        buffer.writeInteger(version)
        try message.encode(into: &buffer, version: version)
        return Array(buffer.readableBytesView)
    }

    /// Decodes an assignment; empty bytes (a member the leader gave nothing, as the coordinator
    /// sends it) are an empty assignment.
    public init(decoding bytes: [UInt8]) throws {
        if bytes.isEmpty {
            self.init(partitions: [])
            return
        }
        var buffer = ByteBuffer(bytes: bytes)
        let version = try ConsumerProtocolCoding.version(&buffer, ConsumerProtocolAssignment.validVersions)
        let m = try ConsumerProtocolAssignment(from: &buffer, version: version)
        self.init(partitions: try ConsumerProtocolCoding.flattened(m.assignedPartitions.map { ($0.topic, $0.partitions) }),
                  userData: m.userData)
    }
}

enum ConsumerProtocolCoding {
    static func version(_ buffer: inout ByteBuffer, _ valid: ClosedRange<Int16>) throws -> Int16 {
        let v = try buffer.kafkaReadInteger(as: Int16.self)
        guard v >= valid.lowerBound else {
            throw KafkaWireError(.unsupportedVersion, "consumer protocol version \(v)")
        }
        return min(v, valid.upperBound)
    }

    /// Partitions grouped by topic, topics and partitions sorted.
    static func grouped(_ partitions: [TopicPartition]) -> [(String, [Int32])] {
        var byTopic: [String: [Int32]] = [:]
        for p in partitions { byTopic[p.topic, default: []].append(p.partition) }
        return byTopic.keys.sorted().map { ($0, byTopic[$0]!.sorted()) }
    }

    static func flattened(_ groups: [(String, [Int32])]) throws -> [TopicPartition] {
        var out: [TopicPartition] = []
        for (topic, partitions) in groups {
            for p in partitions {
                guard p >= 0 else { throw KafkaWireError(.invalidArgument, "negative partition \(p) of \(topic)") }
                out.append(TopicPartition(topic: topic, partition: p))
            }
        }
        return out
    }
}

/// A group member as the leader's assignor sees it.
public struct ConsumerGroupMember: Sendable, Hashable {
    public var memberID: String
    public var groupInstanceID: String?
    public var subscription: ConsumerSubscription

    public init(memberID: String, groupInstanceID: String? = nil, subscription: ConsumerSubscription) {
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
        self.subscription = subscription
    }
}

/// Partition assignment strategies (the protocol names other clients know).
public enum ConsumerAssignor: String, Sendable, Hashable, CaseIterable {
    /// Kafka's `RangeAssignor` ("range"): per topic, the members subscribed to it in order
    /// each take a contiguous range; the first `partitions % members` take one more.
    case range = "range"
    /// Kafka's `CooperativeStickyAssignor` ("cooperative-sticky", KIP-429): balanced, keeps each
    /// member's owned partitions where the balance allows, and never moves a partition in one
    /// step: a partition its owner gives up is left unassigned this round (the owner revokes it,
    /// rejoins, and the next round assigns it).
    case cooperativeSticky = "cooperative-sticky"

    public var protocolName: String { rawValue }

    /// Whether members keep their partitions through a rebalance and revoke only what moves.
    public var isCooperative: Bool { self == .cooperativeSticky }

    /// Assigns the partitions of each topic (`partitionCounts`: topic -> number of partitions)
    /// to the members subscribed to it. Every member gets an entry, maybe empty.
    public func assign(members: [ConsumerGroupMember], partitionCounts: [String: Int32]) -> [String: [TopicPartition]] {
        switch self {
        case .range: return Self.range(members: members, partitionCounts: partitionCounts)
        case .cooperativeSticky: return Self.cooperativeSticky(members: members, partitionCounts: partitionCounts)
        }
    }

    /// Java's `MemberInfo` order: members with a group instance id first, by it; then by member id.
    static func memberOrder(_ a: ConsumerGroupMember, _ b: ConsumerGroupMember) -> Bool {
        switch (a.groupInstanceID, b.groupInstanceID) {
        case let (x?, y?): return x != y ? x < y : a.memberID < b.memberID
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil): return a.memberID < b.memberID
        }
    }

    static func range(members: [ConsumerGroupMember], partitionCounts: [String: Int32]) -> [String: [TopicPartition]] {
        var result: [String: [TopicPartition]] = [:]
        for m in members { result[m.memberID] = [] }
        let topics = Set(members.flatMap(\.subscription.topics)).sorted()
        for topic in topics {
            guard let count = partitionCounts[topic], count > 0 else { continue }
            let subscribers = members.filter { $0.subscription.topics.contains(topic) }.sorted(by: memberOrder)
            let n = Int(count)
            let c = subscribers.count
            let per = n / c
            let extra = n % c
            for (i, m) in subscribers.enumerated() {
                let start = per * i + min(i, extra)
                let length = per + (i < extra ? 1 : 0)
                for p in start..<(start + length) {
                    result[m.memberID, default: []].append(TopicPartition(topic: topic, partition: Int32(p)))
                }
            }
        }
        return result
    }

    static func cooperativeSticky(members: [ConsumerGroupMember], partitionCounts: [String: Int32]) -> [String: [TopicPartition]] {
        let ordered = members.sorted(by: memberOrder)
        var result: [String: [TopicPartition]] = [:]
        for m in ordered { result[m.memberID] = [] }
        guard !ordered.isEmpty else { return result }
        func subscribed(_ m: ConsumerGroupMember, _ tp: TopicPartition) -> Bool { m.subscription.topics.contains(tp.topic) }
        var all: [TopicPartition] = []
        for topic in Set(members.flatMap(\.subscription.topics)).sorted() {
            guard let count = partitionCounts[topic], count > 0 else { continue }
            for p in 0..<count { all.append(TopicPartition(topic: topic, partition: p)) }
        }
        let existing = Set(all)
        // Previous owners (a partition claimed twice counts for the higher generation, then the first).
        var owner: [TopicPartition: (member: String, generation: Int32)] = [:]
        for m in ordered {
            for tp in m.subscription.ownedPartitions where existing.contains(tp) && subscribed(m, tp) {
                if let o = owner[tp], o.generation >= m.subscription.generationID { continue }
                owner[tp] = (m.memberID, m.subscription.generationID)
            }
        }
        // Quotas: floor(n/c) each, and `n % c` members one more, preferably those owning more.
        let n = all.count, c = ordered.count
        let floorQuota = n / c
        var extra = n % c
        var quota: [String: Int] = [:]
        let byOwned = ordered.enumerated().sorted { a, b in
            let x = owner.values.filter { $0.member == a.element.memberID }.count
            let y = owner.values.filter { $0.member == b.element.memberID }.count
            return x != y ? x > y : a.offset < b.offset
        }.map(\.element)
        for m in byOwned {
            quota[m.memberID] = floorQuota + (extra > 0 ? 1 : 0)
            if extra > 0 { extra -= 1 }
        }
        // Sticky: each member keeps its owned partitions up to its quota.
        var assigned: Set<TopicPartition> = []
        for m in ordered {
            let mine = all.filter { owner[$0]?.member == m.memberID }
            for tp in mine.prefix(quota[m.memberID]!) {
                result[m.memberID]!.append(tp)
                assigned.insert(tp)
            }
        }
        // The rest to the least loaded subscribed member below its quota.
        var given: [String: [TopicPartition]] = [:]
        for tp in all where !assigned.contains(tp) {
            let candidates = ordered.filter { subscribed($0, tp) }
            guard let target = candidates.filter({ result[$0.memberID]!.count < quota[$0.memberID]! }).min(by: {
                result[$0.memberID]!.count < result[$1.memberID]!.count
            }) ?? candidates.min(by: { result[$0.memberID]!.count < result[$1.memberID]!.count }) else { continue }
            result[target.memberID]!.append(tp)
            given[target.memberID, default: []].append(tp)
        }
        // Cooperative: a partition that changes owner is withheld this round; its owner revokes it.
        let present = Set(ordered.map(\.memberID))
        for (member, tps) in given {
            let moving = Set(tps.filter { tp in owner[tp].map { $0.member != member && present.contains($0.member) } ?? false })
            if !moving.isEmpty { result[member]!.removeAll { moving.contains($0) } }
        }
        for m in ordered { result[m.memberID]!.sort() }
        return result
    }
}
