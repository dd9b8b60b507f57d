import NIOCore

/// The classic (eager) group membership protocol of one member, as a value: events in, actions
/// out, no I/O. `KafkaGroupConsumer.run()` performs the actions and feeds the responses back.
///
/// Eager rebalancing: every owned partition is revoked (the application's callback awaited)
/// before the member rejoins, so a partition is never owned by two members at once.
struct GroupMembershipStateMachine {
    struct JoinedMember: Sendable, Hashable {
        var memberID: String
        var groupInstanceID: String?
        var metadata: [UInt8]
    }

    /// What JoinGroup answered.
    enum JoinResult: Sendable, Hashable {
        case joined(memberID: String, generation: Int32, leader: String, protocolName: String?, members: [JoinedMember])
        case error(KafkaErrorCode, memberID: String)
    }

    enum Action: Sendable, Equatable {
        case findCoordinator
        /// Wait the retry backoff before the next action.
        case backoff
        case sendJoin(memberID: String)
        /// `members` is non-nil when this member leads and must compute the assignment.
        case sendSync(memberID: String, generation: Int32, protocolName: String?, members: [JoinedMember]?)
        case sendHeartbeat(memberID: String, generation: Int32)
        /// Stop delivering these partitions and await the application's revoke callback.
        case revoke([TopicPartition])
        /// Start consuming these partitions (fetch committed offsets first).
        case assign([TopicPartition])
        case sendLeave(memberID: String)
        case fail(KafkaWireError)
        /// Left the group: `run()` returns.
        case done

        static func == (a: Action, b: Action) -> Bool {
            switch (a, b) {
            case (.findCoordinator, .findCoordinator), (.backoff, .backoff), (.done, .done): return true
            case let (.sendJoin(x), .sendJoin(y)), let (.sendLeave(x), .sendLeave(y)): return x == y
            case let (.sendSync(m1, g1, p1, ms1), .sendSync(m2, g2, p2, ms2)):
                return m1 == m2 && g1 == g2 && p1 == p2 && ms1 == ms2
            case let (.sendHeartbeat(m1, g1), .sendHeartbeat(m2, g2)): return m1 == m2 && g1 == g2
            case let (.revoke(x), .revoke(y)), let (.assign(x), .assign(y)): return x == y
            case let (.fail(x), .fail(y)):
                return x.code == y.code && x.brokerErrorCode == y.brokerErrorCode && x.context == y.context
            default: return false
            }
        }
    }

    private enum State: Sendable, Hashable {
        case idle
        case findingCoordinator
        case joining
        case syncing(generation: Int32)
        case stable(generation: Int32)
        case left
        case failed
    }

    private var state: State = .idle
    private(set) var memberID: String = ""
    private(set) var owned: [TopicPartition] = []
    private(set) var nextHeartbeat: NIODeadline?
    let heartbeatInterval: TimeAmount

    /// KIP-429 incremental rebalancing (cooperative-sticky): a rebalance keeps the owned
    /// partitions (they go in the subscription); after SyncGroup only those no longer assigned
    /// are revoked, and if any were, the member joins again so the next round can give them to
    /// their new owner (two phases). False: eager, everything revoked before joining.
    let cooperative: Bool

    init(heartbeatInterval: TimeAmount, cooperative: Bool = false) {
        self.heartbeatInterval = heartbeatInterval
        self.cooperative = cooperative
    }

    /// The generation of the last assignment, for commits: kept while a rebalance revokes
    /// (the application commits in its revoke callback, as the coordinator allows until the
    /// new generation), dropped when the coordinator no longer knows the member.
    private(set) var generation: Int32?

    var isStable: Bool {
        if case .stable = state { return true }
        return false
    }

    var isFinished: Bool { state == .left || state == .failed }

    mutating func start() -> [Action] {
        guard state == .idle else { return [] }
        state = .findingCoordinator
        return [.findCoordinator]
    }

    mutating func coordinatorFound() -> [Action] {
        switch state {
        case .findingCoordinator:
            state = .joining
            return [.sendJoin(memberID: memberID)]
        case .joining:
            return [.sendJoin(memberID: memberID)]
        case .syncing, .stable, .idle, .left, .failed:
            return []  // stable: heartbeats go on at the timer
        }
    }

    /// FindCoordinator failed or a request to the coordinator failed at the transport: look the
    /// coordinator up again after a backoff. A member between join and sync rejoins.
    mutating func coordinatorLost() -> [Action] {
        switch state {
        case .idle, .left, .failed: return []
        case .findingCoordinator, .joining: return [.backoff, .findCoordinator]
        case .syncing:
            state = .joining
            return [.backoff, .findCoordinator]
        case .stable:
            return [.backoff, .findCoordinator]
        }
    }

    mutating func joinResponse(_ result: JoinResult, now: NIODeadline) -> [Action] {
        guard state == .joining else { return [] }
        switch result {
        case .joined(let id, let generation, let leader, let protocolName, let members):
            memberID = id
            state = .syncing(generation: generation)
            return [.sendSync(memberID: id, generation: generation, protocolName: protocolName,
                              members: leader == id ? members : nil)]
        case .error(let code, let id):
            switch code {
            case .memberIdRequired:
                memberID = id
                return [.sendJoin(memberID: id)]
            case .unknownMemberId:
                memberID = ""
                return [.sendJoin(memberID: "")]
            case .rebalanceInProgress, .coordinatorLoadInProgress:
                return [.backoff, .sendJoin(memberID: memberID)]
            case .notCoordinator, .coordinatorNotAvailable:
                state = .findingCoordinator
                return [.backoff, .findCoordinator]
            default:
                state = .failed
                return [.fail(KafkaWireError.broker(code, "JoinGroup"))]
            }
        }
    }

    /// `assignment`: the partitions SyncGroup gave this member, or the broker's error.
    mutating func syncResponse(_ result: Result<[TopicPartition], KafkaWireError>, now: NIODeadline) -> [Action] {
        guard case .syncing(let generation) = state else { return [] }
        switch result {
        case .success(let partitions):
            state = .stable(generation: generation)
            self.generation = generation
            nextHeartbeat = now + heartbeatInterval
            let assigned = partitions.sorted()
            guard cooperative else {
                owned = assigned
                return [.assign(owned)]
            }
            let revoked = owned.filter { !assigned.contains($0) }
            let added = assigned.filter { !owned.contains($0) }
            owned = assigned
            var actions: [Action] = []
            if !revoked.isEmpty { actions.append(.revoke(revoked)) }
            if !added.isEmpty || revoked.isEmpty { actions.append(.assign(added)) }
            if !revoked.isEmpty {
                // Second phase: the revoked partitions are free once this member rejoins.
                state = .joining
                nextHeartbeat = nil
                actions.append(.sendJoin(memberID: memberID))
            }
            return actions
        case .failure(let error):
            switch error.brokerErrorCode {
            case .rebalanceInProgress?:
                state = .joining
                return [.sendJoin(memberID: memberID)]
            case .invalidRequest?:
                // librdkafka's mock cluster completes a sync as soon as the leader's assignment
                // covers every member, and answers a follower whose SyncGroup comes after that
                // with INVALID_REQUEST; joining again is the way back in.
                state = .joining
                return [.backoff, .sendJoin(memberID: memberID)]
            case .unknownMemberId?, .illegalGeneration?:
                state = .joining
                self.generation = nil
                if error.brokerErrorCode == .unknownMemberId { memberID = "" }
                return [.sendJoin(memberID: memberID)]
            case .notCoordinator?, .coordinatorNotAvailable?:
                state = .findingCoordinator
                return [.backoff, .findCoordinator]
            default:
                state = .failed
                return [.fail(error)]
            }
        }
    }

    mutating func heartbeatResponse(_ code: KafkaErrorCode, now: NIODeadline) -> [Action] {
        guard case .stable = state else { return [] }
        switch code {
        case .noError:
            return []
        case .rebalanceInProgress:
            return rejoin(resetMemberID: false)
        case .unknownMemberId, .illegalGeneration, .fencedInstanceId:
            generation = nil
            return rejoin(resetMemberID: code == .unknownMemberId)
        case .notCoordinator, .coordinatorNotAvailable:
            return [.backoff, .findCoordinator]
        case .coordinatorLoadInProgress:
            return []
        default:
            state = .failed
            let lost = owned
            owned = []
            return (lost.isEmpty ? [] : [.revoke(lost)]) + [.fail(KafkaWireError.broker(code, "Heartbeat"))]
        }
    }

    /// The clock: sends a heartbeat when one is due.
    mutating func timer(now: NIODeadline) -> [Action] {
        guard case .stable(let generation) = state, let due = nextHeartbeat, now >= due else { return [] }
        nextHeartbeat = now + heartbeatInterval
        return [.sendHeartbeat(memberID: memberID, generation: generation)]
    }

    /// The application leaves: revoke what it owns, then LeaveGroup.
    mutating func leave() -> [Action] {
        switch state {
        case .left, .failed: return []
        case .idle:
            state = .left
            return [.done]
        case .findingCoordinator, .joining, .syncing, .stable:
            state = .left
            let revoked = owned
            owned = []
            nextHeartbeat = nil
            var actions: [Action] = revoked.isEmpty ? [] : [.revoke(revoked)]
            if !memberID.isEmpty { actions.append(.sendLeave(memberID: memberID)) }
            actions.append(.done)
            return actions
        }
    }

    private mutating func rejoin(resetMemberID: Bool) -> [Action] {
        state = .joining
        nextHeartbeat = nil
        if resetMemberID { memberID = "" }
        if cooperative && generation != nil {
            return [.sendJoin(memberID: memberID)]  // keeps consuming what it owns meanwhile
        }
        let revoked = owned
        owned = []
        return (revoked.isEmpty ? [] : [.revoke(revoked)]) + [.sendJoin(memberID: memberID)]
    }
}
