import Foundation
import KafkaWire
import NIOCore
import PipeTestSupport
import Synchronization
import Testing

/// `KafkaGroupConsumer` against real coordinators: tansu (`KP_KAFKA`) and librdkafka's mock
/// cluster (`KP_KAFKA_MOCK`).
@Suite(.serialized) struct ConsumerGroupLiveTests {
    static func bootstrap(_ env: String) -> String? {
        TestEnv.require(env) { Issue.record(Comment(rawValue: $0)) }
    }

    static func cluster(_ servers: String) throws -> KafkaCluster {
        var config = try KafkaClientConfiguration(bootstrapServers: servers, clientID: "kp-group-tests")
        config.requestTimeout = .seconds(30)
        return KafkaCluster(configuration: config)
    }

    static func config(_ group: String, _ topic: String) -> KafkaGroupConsumer.Configuration {
        var c = KafkaGroupConsumer.Configuration(groupID: group, topics: [topic])
        c.sessionTimeout = .seconds(6)
        c.heartbeatInterval = .milliseconds(500)
        c.rebalanceTimeout = .seconds(10)
        c.fetchMaxWait = .milliseconds(100)
        return c
    }

    /// Produces `values` round-robin over the partitions; returns when all are acknowledged.
    static func produce(_ cluster: KafkaCluster, topic: String, _ values: [String], partitions: Int32) async throws {
        let producer = KafkaProducer(cluster: cluster, configuration: KafkaProducerConfiguration())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await producer.run() }
            var futures: [DeliveryFuture] = []
            for (i, v) in values.enumerated() {
                futures.append(try await producer.enqueue(topic: topic, key: nil, value: Array(v.utf8),
                                                          partition: Int32(i) % partitions))
            }
            for f in futures { _ = try await f.get() }
            group.cancelAll()
        }
    }

    /// What one member saw: records (by value) and the partitions it was given over time.
    final class Member: Sendable {
        let seen = Mutex<[String]>([])
        let assigned = Mutex<Set<TopicPartition>>([])
        let busy = Mutex(false)
        let commitErrors = Mutex<[String]>([])
        var count: Int { seen.withLock { $0.count } }
    }

    /// Runs a consumer that records every value and commits after each batch; the revoke callback
    /// waits for the batch in hand to be committed.
    static func runMember(_ consumer: KafkaGroupConsumer, _ member: Member) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            group.addTask {
                for await batch in consumer.batches {
                    member.busy.withLock { $0 = true }
                    member.seen.withLock { s in s += batch.records.map { String(buffer: $0.value!) } }
                    do { try await consumer.commit([batch.topicPartition: batch.nextOffset]) } catch {
                        member.commitErrors.withLock { $0.append("\(batch.topicPartition)@\(batch.nextOffset): \(error)") }
                    }
                    member.busy.withLock { $0 = false }
                }
            }
            try await group.waitForAll()
        }
    }

    static func makeConsumer(_ cluster: KafkaCluster, _ config: KafkaGroupConsumer.Configuration, _ m: Member) -> KafkaGroupConsumer {
        KafkaGroupConsumer(cluster: cluster, configuration: config, onRevoke: { ps in
            while m.busy.withLock({ $0 }) { try? await Task.sleep(nanoseconds: 5_000_000) }
            m.assigned.withLock { s in for p in ps { s.remove(p) } }
        }, onAssign: { ps in
            m.assigned.withLock { s in s.formUnion(ps) }
        })
    }

    static func waitUntil(_ seconds: Double, _ condition: () -> Bool) async throws -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        return condition()
    }

    static func createTopic(_ cluster: KafkaCluster, _ topic: String, partitions: Int32, mock: Bool) async throws {
        do {
            try await KafkaAdmin(cluster: cluster).createTopics([.init(name: topic, partitions: partitions)])
        } catch let e as KafkaWireError where mock && e.code == .unsupportedVersion {
            try await cluster.metadata(topics: [topic], allowAutoTopicCreation: true)  // the mock auto-creates
        }
        _ = try await cluster.topicMetadata(topic)
    }

    // MARK: one member

    /// Joins alone, reads everything from the earliest offset, commits, leaves; a second
    /// consumer of the group resumes after the commit and sees only the new records.
    @Test func oneMemberConsumesCommitsAndResumesOnTansu() async throws {
        guard let servers = Self.bootstrap("KP_KAFKA") else { return }
        let topic = TestEnv.unique("kp_grp1")
        let group = TestEnv.unique("kp-g1")
        let cluster = try Self.cluster(servers)
        defer { Task { await cluster.shutdown() } }
        try await Self.createTopic(cluster, topic, partitions: 3, mock: false)
        let first = (0..<90).map { "a\($0)" }
        try await Self.produce(cluster, topic: topic, first, partitions: 3)

        let m1 = Member()
        let c1 = Self.makeConsumer(cluster, Self.config(group, topic), m1)
        try await withThrowingTaskGroup(of: Void.self) { g in
            g.addTask { try await Self.runMember(c1, m1) }
            let done = try await Self.waitUntil(30) { m1.count >= first.count }
            #expect(done, "saw \(m1.count) of \(first.count)")
            #expect(c1.assignment.count == 3)
            c1.leave()
            try await g.waitForAll()
        }
        #expect(m1.seen.withLock { $0.sorted() } == first.sorted())
        #expect(m1.assigned.withLock { $0.isEmpty }, "everything revoked on leave")

        let second = (0..<30).map { "b\($0)" }
        try await Self.produce(cluster, topic: topic, second, partitions: 3)
        let m2 = Member()
        let c2 = Self.makeConsumer(cluster, Self.config(group, topic), m2)
        try await withThrowingTaskGroup(of: Void.self) { g in
            g.addTask { try await Self.runMember(c2, m2) }
            _ = try await Self.waitUntil(30) { m2.count >= second.count }
            try await Task.sleep(nanoseconds: 500_000_000)  // anything re-delivered would show now
            c2.leave()
            try await g.waitForAll()
        }
        #expect(m2.seen.withLock { $0.sorted() } == second.sorted(), "resumes at the commit")
    }

    // MARK: two members

    static func twoMembers(_ servers: String, mock: Bool) async throws {
        let topic = TestEnv.unique("kp_grp2")
        let group = TestEnv.unique("kp-g2")
        let cluster = try Self.cluster(servers)
        defer { Task { await cluster.shutdown() } }
        let partitions: Int32 = 4
        try await Self.createTopic(cluster, topic, partitions: partitions, mock: mock)
        let meta = try await cluster.topicMetadata(topic)
        let n = Int32(meta.partitions.count)
        let firstValues = (0..<200).map { "x\($0)" }
        try await Self.produce(cluster, topic: topic, firstValues, partitions: n)

        let a = Member(), b = Member()
        let ca = Self.makeConsumer(cluster, Self.config(group, topic), a)
        let cb = Self.makeConsumer(cluster, Self.config(group, topic), b)
        try await withThrowingTaskGroup(of: Void.self) { g in
            g.addTask { try await Self.runMember(ca, a) }
            g.addTask { try await Self.runMember(cb, b) }
            // Both members end up with a share of the partitions.
            let split = try await Self.waitUntil(40) {
                let x = a.assigned.withLock { $0 }, y = b.assigned.withLock { $0 }
                return !x.isEmpty && !y.isEmpty && x.isDisjoint(with: y) && x.count + y.count == Int(n)
            }
            #expect(split, "a \(a.assigned.withLock { $0 }), b \(b.assigned.withLock { $0 })")
            let secondValues = (0..<200).map { "y\($0)" }
            try await Self.produce(cluster, topic: topic, secondValues, partitions: n)
            let all = try await Self.waitUntil(30) { a.count + b.count >= 400 }
            #expect(all, "a \(a.count) b \(b.count)")
            #expect(b.count > 0 && a.count > 0)

            // b leaves: a gets every partition and reads what follows.
            cb.leave()
            let moved = try await Self.waitUntil(30) { a.assigned.withLock { $0.count } == Int(n) }
            #expect(moved)
            let third = (0..<100).map { "z\($0)" }
            try await Self.produce(cluster, topic: topic, third, partitions: n)
            _ = try await Self.waitUntil(30) { a.count + b.count >= 500 }
            try await Task.sleep(nanoseconds: 500_000_000)
            ca.leave()
            try await g.waitForAll()
        }
        // Every record seen by exactly one member, once.
        let seen = a.seen.withLock { $0 } + b.seen.withLock { $0 }
        #expect(seen.count == 500, "seen \(seen.count)")
        #expect(Set(seen).count == 500)
        #expect(Set(seen).isSuperset(of: firstValues))
    }

    @Test func twoMembersSplitAndRebalanceOnTansu() async throws {
        guard let servers = Self.bootstrap("KP_KAFKA") else { return }
        try await Self.twoMembers(servers, mock: false)
    }

    // On librdkafka's mock. It used to fail with ILLEGAL_GENERATION on the commits of the revoke
    // callback: both members shared one KafkaCluster, so their JoinGroups queued on one connection
    // (a broker serves a connection's requests one at a time and holds JoinGroup until the
    // rebalance ends); each generation had one member, the other's commit carried the old one.
    // Group requests now have the consumer's own connections. Two mock quirks are handled too:
    // an aborted SyncGroup answered with a null assignment, and INVALID_REQUEST to a follower
    // whose SyncGroup comes after the leader's (see GroupMembershipStateMachine).
    @Test
    func twoMembersSplitAndRebalanceOnMockCluster() async throws {
        guard let servers = Self.bootstrap("KP_KAFKA_MOCK") else { return }
        try await Self.twoMembers(servers, mock: true)
    }

    // MARK: pause and resume

    /// A paused partition delivers nothing new while the others go on; resumed, it continues
    /// where it stopped; every record is seen once.
    @Test func pauseAndResumeOnTansu() async throws {
        guard let servers = Self.bootstrap("KP_KAFKA") else { return }
        let topic = TestEnv.unique("kp_pause")
        let group = TestEnv.unique("kp-gp")
        let cluster = try Self.cluster(servers)
        defer { Task { await cluster.shutdown() } }
        try await Self.createTopic(cluster, topic, partitions: 2, mock: false)
        func values(_ round: String) -> [String] { (0..<100).map { "\(round)-p\($0 % 2)-\($0)" } }  // i % 2 = partition
        let m = Member()
        let consumer = Self.makeConsumer(cluster, Self.config(group, topic), m)
        let p0 = TopicPartition(topic: topic, partition: 0)
        func seen(_ prefix: String) -> Int { m.seen.withLock { $0.filter { $0.hasPrefix(prefix) }.count } }
        try await withThrowingTaskGroup(of: Void.self) { g in
            g.addTask { try await Self.runMember(consumer, m) }
            try await Self.produce(cluster, topic: topic, values("a"), partitions: 2)
            #expect(try await Self.waitUntil(30) { m.count == 100 }, "seen \(m.count)")

            consumer.pause([p0])
            try await Task.sleep(nanoseconds: 1_000_000_000)   // a fetch already under way may still land
            try await Self.produce(cluster, topic: topic, values("b"), partitions: 2)
            #expect(try await Self.waitUntil(30) { seen("b-p1") == 50 }, "partition 1 while 0 is paused: \(seen("b-p1"))")
            try await Task.sleep(nanoseconds: 1_500_000_000)
            #expect(seen("b-p0") == 0, "a paused partition delivered \(seen("b-p0")) records")

            consumer.resume([p0])
            #expect(try await Self.waitUntil(30) { seen("b-p0") == 50 }, "after resume: \(seen("b-p0"))")
            try await Task.sleep(nanoseconds: 500_000_000)
            consumer.leave()
            try await g.waitForAll()
        }
        let all = m.seen.withLock { $0 }
        #expect(all.count == 200 && Set(all) == Set(values("a") + values("b")))
        // Within partition 0 the order is the produced order.
        let order = all.filter { $0.contains("-p0-") }
        #expect(order == (values("a") + values("b")).filter { $0.contains("-p0-") })
    }

    // MARK: three members, cooperative-sticky

    /// Three members with the cooperative-sticky assignor join one after another, then one leaves:
    /// at no moment does a partition belong to two members (each member's onAssign/onRevoke keep
    /// one shared owner map), members keep consuming through rebalances, the split ends balanced,
    /// and every record is seen exactly once.
    @Test func threeMembersCooperativeStickyOnTansu() async throws {
        guard let servers = Self.bootstrap("KP_KAFKA") else { return }
        try await Self.threeMembers(servers, mock: false, assignor: .cooperativeSticky)
    }

    /// The same with the eager range assignor (every member gives up everything at each
    /// rebalance), on tansu. Not on librdkafka's mock cluster yet: there, in one run of four, the
    /// mock refused the revoke callback's commits with REBALANCE_IN_PROGRESS and the three-way
    /// split did not settle within 40 s (two members on the mock pass, see above).
    @Test func threeMembersEagerRangeOnTansu() async throws {
        guard let servers = Self.bootstrap("KP_KAFKA") else { return }
        try await Self.threeMembers(servers, mock: false, assignor: .range)
    }

    static func threeMembers(_ servers: String, mock: Bool, assignor: ConsumerAssignor) async throws {
        let topic = TestEnv.unique("kp_grp3")
        let group = TestEnv.unique("kp-g3")
        let cluster = try Self.cluster(servers)
        defer { Task { await cluster.shutdown() } }
        try await Self.createTopic(cluster, topic, partitions: 6, mock: mock)
        // The mock creates topics with its own partition count.
        let n = Int32(try await cluster.topicMetadata(topic).partitions.count)
        #expect(n >= 3)
        /// Partition counts of a balanced split between the first `k` members, largest first.
        func balanced(_ k: Int) -> [Int] {
            (0..<3).map { i in i < k ? Int(n) / k + (i < Int(n) % k ? 1 : 0) : 0 }
        }
        var config = Self.config(group, topic)
        config.assignor = assignor

        let owners = Mutex<[TopicPartition: String]>([:])
        let conflicts = Mutex<[String]>([])
        let members = (0..<3).map { _ in Member() }
        let names = ["a", "b", "c"]
        let consumers = (0..<3).map { i in
            KafkaGroupConsumer(cluster: cluster, configuration: config, onRevoke: { ps in
                let m = members[i]
                while m.busy.withLock({ $0 }) { try? await Task.sleep(nanoseconds: 5_000_000) }
                m.assigned.withLock { s in for p in ps { s.remove(p) } }
                owners.withLock { o in for p in ps where o[p] == names[i] { o[p] = nil } }
            }, onAssign: { ps in
                members[i].assigned.withLock { s in s.formUnion(ps) }
                owners.withLock { o in
                    for p in ps {
                        if let other = o[p], other != names[i] {
                            conflicts.withLock { $0.append("\(p) given to \(names[i]) while \(other) owns it") }
                        }
                        o[p] = names[i]
                    }
                }
            })
        }
        func split() -> [Int] { members.map { $0.assigned.withLock { $0.count } } }
        var produced: [String] = []
        func produce(_ prefix: String) async throws {
            let values = (0..<120).map { "\(prefix)\($0)" }
            try await Self.produce(cluster, topic: topic, values, partitions: n)
            produced += values
        }
        func total() -> Int { members.reduce(0) { $0 + $1.count } }

        try await withThrowingTaskGroup(of: Void.self) { g in
            try await produce("p")
            g.addTask { try await Self.runMember(consumers[0], members[0]) }
            #expect(try await Self.waitUntil(30) { split()[0] == Int(n) && total() >= produced.count }, "a alone: \(split())")
            for joiner in 1...2 {
                try await produce("j\(joiner)-")
                g.addTask { try await Self.runMember(consumers[joiner], members[joiner]) }
                let settled = try await Self.waitUntil(40) { split().sorted(by: >) == balanced(joiner + 1) && split()[joiner] > 0 }
                #expect(settled, "after member \(joiner) joined: \(split())")
                try await produce("after\(joiner)-")
                #expect(try await Self.waitUntil(30) { total() >= produced.count }, "seen \(total()) of \(produced.count)")
            }
            // c leaves: a and b share its partitions.
            consumers[2].leave()
            let moved = try await Self.waitUntil(40) { split()[0] + split()[1] == Int(n) && split()[2] == 0 }
            #expect(moved, "after c left: \(split())")
            try await produce("left-")
            #expect(try await Self.waitUntil(30) { total() >= produced.count }, "seen \(total()) of \(produced.count)")
            try await Task.sleep(nanoseconds: 500_000_000)  // anything delivered twice would show now
            consumers[0].leave()
            consumers[1].leave()
            try await g.waitForAll()
        }
        #expect(conflicts.withLock { $0 } == [])
        let seen = members.flatMap { $0.seen.withLock { $0 } }
        // With the eager assignor every member commits in its revoke callback, before it rejoins:
        // none may be refused. With cooperative-sticky, members go on consuming while the group
        // moves to a new generation, so a commit sent across the change may get ILLEGAL_GENERATION
        // (the partition stays with the member, and its next commit covers it).
        if assignor == .range {
            let commitErrors = members.flatMap { $0.commitErrors.withLock { $0 } }
            #expect(commitErrors == [], "commits refused")
        }
        #expect(seen.count == produced.count, "seen \(seen.count), produced \(produced.count)")
        #expect(Set(seen) == Set(produced))
    }
}
