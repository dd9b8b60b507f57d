import Foundation
import Testing
import WireCore

@Suite struct UnixTimeTests {
    /// Every field of the civil time equals Foundation's Gregorian UTC calendar, across leap years,
    /// century rules, negative times and far dates (from 1600: Foundation's calendar is Julian before
    /// October 1582, ours proleptic Gregorian, checked against known values below).
    @Test func civilTimeMatchesTheGregorianCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var samples: [Int64] = [0, -1, 59, 86_399, 86_400, 951_782_399, 951_782_400, 951_868_800,
                                4_107_542_399, 4_107_542_400, -2_208_988_800, 253_402_300_799, -11_676_096_000]
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<5000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // 1600-01-01 to 9999-12-31
            samples.append(-11_676_096_000 + Int64(x >> 1) % (253_402_300_800 + 11_676_096_000))
        }
        for s in samples {
            let c = UnixTime(seconds: s).civil
            let d = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .era],
                                            from: Date(timeIntervalSince1970: Double(s)))
            #expect(c.year == Int64(d.year!) && c.month == d.month && c.day == d.day, "\(s): \(c) vs \(d)")
            #expect(c.hour == d.hour && c.minute == d.minute && c.second == d.second, "\(s): \(c) vs \(d)")
        }
    }

    @Test func prolepticGregorianBefore1582() {
        let first = UnixTime(seconds: -62_135_596_800).civil   // 0001-01-01T00:00:00Z
        #expect((first.year, first.month, first.day, first.hour) == (1, 1, 1, 0))
        let eve = UnixTime(seconds: -62_135_596_801).civil     // 0000-12-31T23:59:59Z (year 0 = 1 BC)
        #expect((eve.year, eve.month, eve.day, eve.second) == (0, 12, 31, 59))
        let leap = CivilTime.date(daysSince1970: -719_469)  // 0000-02-29: year 0 is a leap year
        #expect(leap == (0, 2, 29) && CivilTime.date(daysSince1970: -719_468) == (0, 3, 1))
        let reform = CivilTime(unixSeconds: -12_219_292_800)    // 1582-10-15, the first Gregorian day
        #expect((reform.year, reform.month, reform.day) == (1582, 10, 15))
    }

    @Test func nowFollowsTheSystemClock() {
        let ours = UnixTime.now()
        let theirs = Date().timeIntervalSince1970
        #expect(abs(Double(ours.seconds) + Double(ours.nanoseconds) / 1e9 - theirs) < 2)
        #expect((0..<1_000_000_000).contains(ours.nanoseconds))
        #expect(ours.milliseconds / 1000 == ours.seconds && ours.microseconds / 1_000_000 == ours.seconds)
        #expect(UnixTime(seconds: 5, nanoseconds: 1) > UnixTime(seconds: 5) && UnixTime(seconds: 4, nanoseconds: 999) < UnixTime(seconds: 5))
    }

    @Test func localFileReadsWholeFilesAndNamesFailures() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kp-localfile-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let path = dir.appendingPathComponent("f.bin").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try LocalFile.bytes(path) == bytes)
        #expect(try LocalFile.bytes(path, limit: 200_000) == bytes)
        #expect(throws: LocalFile.ReadError.self) { try LocalFile.bytes(path, limit: 199_999) }
        let missing = dir.appendingPathComponent("absent.yaml").path
        do {
            _ = try LocalFile.bytes(missing)
            Issue.record("reading a missing file succeeded")
        } catch {
            #expect(error.description.hasPrefix(missing) && error.description.contains("No such file"), "\(error)")
        }
        do {
            _ = try LocalFile.bytes(dir.path)
            Issue.record("reading a directory succeeded")
        } catch {
            #expect(error.description.contains("Is a directory"), "\(error)")
        }
    }
}
