@testable import KafkaWire
import NIOCore
import Testing

/// `GroupMembershipStateMachine` driven event by event, no network.
@Suite struct ConsumerMembershipTests {
    typealias SM = GroupMembershipStateMachine
    static let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
    static func tp(_ p: Int32) -> TopicPartition { TopicPartition(topic: "t", partition: p) }

    /// A member that found its coordinator, joined (not as leader) and got `partitions`.
    static func stable(_ partitions: [TopicPartition] = [tp(0), tp(1)]) -> SM {
        var sm = SM(heartbeatInterval: .seconds(3))
        _ = sm.start()
        _ = sm.coordinatorFound()
        _ = sm.joinResponse(.joined(memberID: "m1", generation: 4, leader: "m0", protocolName: "range", members: []), now: t0)
        _ = sm.syncResponse(.success(partitions), now: t0)
        return sm
    }

    @Test func joinAsFollowerThenAssign() {
        var sm = SM(heartbeatInterval: .seconds(3))
        #expect(sm.start() == [.findCoordinator])
        #expect(sm.start() == [])
        #expect(sm.coordinatorFound() == [.sendJoin(memberID: "")])
        // KIP-394: the first join is answered MEMBER_ID_REQUIRED with the id to use.
        #expect(sm.joinResponse(.error(.memberIdRequired, memberID: "m1"), now: Self.t0) == [.sendJoin(memberID: "m1")])
        #expect(sm.memberID == "m1")
        let members = [SM.JoinedMember(memberID: "m1", metadata: [1])]
        #expect(sm.joinResponse(.joined(memberID: "m1", generation: 4, leader: "m0", protocolName: "range", members: members),
                                now: Self.t0)
            == [.sendSync(memberID: "m1", generation: 4, protocolName: "range", members: nil)])
        #expect(sm.generation == nil)  // nothing to commit before the assignment
        #expect(!sm.isStable)
        #expect(sm.syncResponse(.success([Self.tp(1), Self.tp(0)]), now: Self.t0) == [.assign([Self.tp(0), Self.tp(1)])])
        #expect(sm.isStable)
        #expect(sm.owned == [Self.tp(0), Self.tp(1)])
    }

    @Test func leaderGetsMembersToAssign() {
        var sm = SM(heartbeatInterval: .seconds(3))
        _ = sm.start()
        _ = sm.coordinatorFound()
        let members = [SM.JoinedMember(memberID: "m1", metadata: [1]), SM.JoinedMember(memberID: "m2", metadata: [2])]
        #expect(sm.joinResponse(.joined(memberID: "m1", generation: 1, leader: "m1", protocolName: "range", members: members),
                                now: Self.t0)
            == [.sendSync(memberID: "m1", generation: 1, protocolName: "range", members: members)])
    }

    @Test func heartbeatsOnlyWhenDue() {
        var sm = Self.stable()
        #expect(sm.timer(now: Self.t0 + .seconds(1)) == [])
        #expect(sm.timer(now: Self.t0 + .seconds(3)) == [.sendHeartbeat(memberID: "m1", generation: 4)])
        #expect(sm.timer(now: Self.t0 + .seconds(4)) == [])
        #expect(sm.heartbeatResponse(.noError, now: Self.t0 + .seconds(4)) == [])
        #expect(sm.timer(now: Self.t0 + .seconds(6)) == [.sendHeartbeat(memberID: "m1", generation: 4)])
    }

    @Test func rebalanceRevokesBeforeRejoin() {
        var sm = Self.stable()
        #expect(sm.heartbeatResponse(.rebalanceInProgress, now: Self.t0)
            == [.revoke([Self.tp(0), Self.tp(1)]), .sendJoin(memberID: "m1")])
        #expect(sm.owned == [])
        #expect(sm.generation == 4)  // the revoke callback may still commit
        #expect(sm.timer(now: Self.t0 + .seconds(60)) == [])  // no heartbeats while joining
        #expect(sm.joinResponse(.joined(memberID: "m1", generation: 5, leader: "m1", protocolName: "range", members: []),
                                now: Self.t0)
            == [.sendSync(memberID: "m1", generation: 5, protocolName: "range", members: [])])
        #expect(sm.syncResponse(.success([Self.tp(2)]), now: Self.t0) == [.assign([Self.tp(2)])])
        #expect(sm.generation == 5)
    }

    @Test func fencedMemberLosesPartitionsAndRejoinsWithNewID() {
        var sm = Self.stable()
        #expect(sm.heartbeatResponse(.unknownMemberId, now: Self.t0)
            == [.revoke([Self.tp(0), Self.tp(1)]), .sendJoin(memberID: "")])
        #expect(sm.memberID == "")
        #expect(sm.generation == nil)
        var sm2 = Self.stable([])
        #expect(sm2.heartbeatResponse(.illegalGeneration, now: Self.t0) == [.sendJoin(memberID: "m1")])
    }

    @Test func syncErrors() {
        var sm = SM(heartbeatInterval: .seconds(3))
        _ = sm.start()
        _ = sm.coordinatorFound()
        _ = sm.joinResponse(.joined(memberID: "m1", generation: 2, leader: "m0", protocolName: "range", members: []), now: Self.t0)
        #expect(sm.syncResponse(.failure(.broker(.rebalanceInProgress, "s")), now: Self.t0) == [.sendJoin(memberID: "m1")])
        _ = sm.joinResponse(.joined(memberID: "m1", generation: 3, leader: "m0", protocolName: "range", members: []), now: Self.t0)
        #expect(sm.syncResponse(.failure(.broker(.notCoordinator, "s")), now: Self.t0) == [.backoff, .findCoordinator])
        #expect(sm.coordinatorFound() == [.sendJoin(memberID: "m1")])
        // librdkafka's mock: a follower whose SyncGroup comes after the leader's gets INVALID_REQUEST.
        _ = sm.joinResponse(.joined(memberID: "m1", generation: 4, leader: "m0", protocolName: "range", members: []), now: Self.t0)
        #expect(sm.syncResponse(.failure(.broker(.invalidRequest, "s")), now: Self.t0) == [.backoff, .sendJoin(memberID: "m1")])
        _ = sm.joinResponse(.joined(memberID: "m1", generation: 5, leader: "m0", protocolName: "range", members: []), now: Self.t0)
        let fatal = KafkaWireError.broker(.groupAuthorizationFailed, "s")
        #expect(sm.syncResponse(.failure(fatal), now: Self.t0) == [.fail(fatal)])
        #expect(sm.isFinished)
    }

    @Test func joinErrors() {
        var sm = SM(heartbeatInterval: .seconds(3))
        _ = sm.start()
        _ = sm.coordinatorFound()
        #expect(sm.joinResponse(.error(.coordinatorLoadInProgress, memberID: ""), now: Self.t0) == [.backoff, .sendJoin(memberID: "")])
        #expect(sm.joinResponse(.error(.notCoordinator, memberID: ""), now: Self.t0) == [.backoff, .findCoordinator])
        #expect(sm.coordinatorLost() == [.backoff, .findCoordinator])
        #expect(sm.coordinatorFound() == [.sendJoin(memberID: "")])
        #expect(sm.joinResponse(.error(.unknownMemberId, memberID: ""), now: Self.t0) == [.sendJoin(memberID: "")])
        let actions = sm.joinResponse(.error(.invalidSessionTimeout, memberID: ""), now: Self.t0)
        guard case .fail(let e)? = actions.first else {
            Issue.record("expected fail, got \(actions)")
            return
        }
        #expect(e.brokerErrorCode == .invalidSessionTimeout)
        // Once failed, responses are ignored.
        #expect(sm.joinResponse(.error(.memberIdRequired, memberID: "x"), now: Self.t0) == [])
    }

    @Test func coordinatorMovesWhileStableKeepsPartitions() {
        var sm = Self.stable()
        #expect(sm.heartbeatResponse(.notCoordinator, now: Self.t0) == [.backoff, .findCoordinator])
        #expect(sm.owned == [Self.tp(0), Self.tp(1)])
        #expect(sm.coordinatorFound() == [])
        #expect(sm.isStable)
        #expect(sm.coordinatorLost() == [.backoff, .findCoordinator])
        #expect(sm.isStable)
    }

    @Test func leaveRevokesThenLeaves() {
        var sm = Self.stable()
        #expect(sm.leave() == [.revoke([Self.tp(0), Self.tp(1)]), .sendLeave(memberID: "m1"), .done])
        #expect(sm.leave() == [])
        #expect(sm.timer(now: Self.t0 + .seconds(10)) == [])
        #expect(sm.heartbeatResponse(.rebalanceInProgress, now: Self.t0) == [])
        var idle = SM(heartbeatInterval: .seconds(1))
        #expect(idle.leave() == [.done])
        var joining = SM(heartbeatInterval: .seconds(1))
        _ = joining.start()
        #expect(joining.leave() == [.done])  // no member id yet: nothing to leave
    }

    @Test func fatalHeartbeatErrorRevokesAndFails() {
        var sm = Self.stable([Self.tp(3)])
        let actions = sm.heartbeatResponse(.groupAuthorizationFailed, now: Self.t0)
        #expect(actions.count == 2)
        #expect(actions.first == .revoke([Self.tp(3)]))
        #expect(sm.isFinished)
    }

    // MARK: cooperative (KIP-429)

    @Test func cooperativeRebalanceKeepsPartitionsAndRevokesOnlyWhatMoves() {
        var sm = SM(heartbeatInterval: .seconds(3), cooperative: true)
        _ = sm.start()
        _ = sm.coordinatorFound()
        _ = sm.joinResponse(.joined(memberID: "m1", generation: 4, leader: "m0", protocolName: "cooperative-sticky", members: []), now: Self.t0)
        #expect(sm.syncResponse(.success([Self.tp(0), Self.tp(1), Self.tp(2)]), now: Self.t0)
            == [.assign([Self.tp(0), Self.tp(1), Self.tp(2)])])
        // A rebalance: no revoke before the join, the partitions stay owned (and in the subscription).
        #expect(sm.heartbeatResponse(.rebalanceInProgress, now: Self.t0) == [.sendJoin(memberID: "m1")])
        #expect(sm.owned == [Self.tp(0), Self.tp(1), Self.tp(2)])
        _ = sm.joinResponse(.joined(memberID: "m1", generation: 5, leader: "m0", protocolName: "cooperative-sticky", members: []), now: Self.t0)
        // First phase: tp2 goes elsewhere: only it is revoked, then the member joins again.
        #expect(sm.syncResponse(.success([Self.tp(0), Self.tp(1)]), now: Self.t0)
            == [.revoke([Self.tp(2)]), .sendJoin(memberID: "m1")])
        #expect(sm.owned == [Self.tp(0), Self.tp(1)])
        #expect(sm.generation == 5)
        _ = sm.joinResponse(.joined(memberID: "m1", generation: 6, leader: "m0", protocolName: "cooperative-sticky", members: []), now: Self.t0)
        // Second phase: nothing moves; a new partition is only added.
        #expect(sm.syncResponse(.success([Self.tp(0), Self.tp(1), Self.tp(3)]), now: Self.t0) == [.assign([Self.tp(3)])])
        #expect(sm.isStable)
        // A fenced member has lost its partitions: all revoked, as in the eager protocol.
        #expect(sm.heartbeatResponse(.illegalGeneration, now: Self.t0)
            == [.revoke([Self.tp(0), Self.tp(1), Self.tp(3)]), .sendJoin(memberID: "m1")])
    }
}
