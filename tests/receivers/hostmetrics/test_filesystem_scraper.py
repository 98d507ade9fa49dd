"""filesystem scraper: host mount points from proc/1/mountinfo, usage by statvfs under root."""
from collector.receivers.hostmetrics.filesystem import statvfs_result
from tests.receivers.hostmetrics.fixture_node import NODE, STATVFS, flatten

B = 4096


def test_usage_and_inodes_for_device_backed_mounts(scrape, attrs_of):
    points, errors = scrape("filesystem")
    assert errors == []
    assert set(points) == {"system.filesystem.usage", "system.filesystem.inodes.usage"}
    usage = attrs_of(points["system.filesystem.usage"], "device", "mode", "mountpoint", "type", "state")
    assert usage == {
        ("/dev/sda1", "rw", "/", "ext4", "used"): 600 * B,
        ("/dev/sda1", "rw", "/", "ext4", "free"): 350 * B,
        ("/dev/sda1", "rw", "/", "ext4", "reserved"): 50 * B,
        ("/dev/sda2", "ro", "/boot", "ext4", "used"): 0,
        ("/dev/sda2", "ro", "/boot", "ext4", "free"): 95 * B,
        ("/dev/sda2", "ro", "/boot", "ext4", "reserved"): 5 * B,
        # "\040" in mountinfo is a space; the duplicate mountinfo line is reported once.
        ("/dev/sdb1", "rw", "/var/lib/my data", "xfs", "used"): 8000 * B,
        ("/dev/sdb1", "rw", "/var/lib/my data", "xfs", "free"): 2000 * B,
        ("/dev/sdb1", "rw", "/var/lib/my data", "xfs", "reserved"): 0,
    }
    inodes = attrs_of(points["system.filesystem.inodes.usage"], "mountpoint", "state")
    assert inodes[("/", "used")] == 400 and inodes[("/", "free")] == 100
    p = points["system.filesystem.usage"][0]
    assert (p["unit"], p["kind"], p["monotonic"], p["value_kind"]) == ("By", "sum", False, "as_int")
    assert points["system.filesystem.inodes.usage"][0]["unit"] == "{inodes}"


def test_statvfs_goes_through_root_path_but_reports_host_mount_points(node_fs):
    from tests.receivers.hostmetrics.fixture_node import make_scraper

    asked = []
    real = node_fs.statvfs
    node_fs.statvfs = lambda path: asked.append(path) or real(path)
    points = flatten(make_scraper("filesystem", node_fs).scrape()[0])
    assert sorted(asked) == sorted([str(NODE) + "/", str(NODE / "boot"), str(NODE / "var/lib/my data")])
    assert {p["attrs"]["mountpoint"] for p in points["system.filesystem.usage"]} == \
        {"/", "/boot", "/var/lib/my data"}


def test_virtual_filesystems_only_when_asked(scrape, attrs_of):
    points, errors = scrape("filesystem", {
        "include_virtual_filesystems": True,
        "include_fs_types": {"fs_types": ["tmpfs"], "match_type": "strict"}})
    assert errors == []
    assert attrs_of(points["system.filesystem.usage"], "device", "mountpoint", "type", "state")[
        ("tmpfs", "/run", "tmpfs", "free")] == 199_000 * B


def test_mount_point_and_device_filters(scrape):
    points, _ = scrape("filesystem", {"exclude_mount_points": {"mount_points": ["^/boot"],
                                                                 "match_type": "regexp"}})
    assert {p["attrs"]["mountpoint"] for p in points["system.filesystem.usage"]} == {"/", "/var/lib/my data"}
    points, _ = scrape("filesystem", {"include_devices": {"devices": ["/dev/sdb1"], "match_type": "strict"}})
    assert {p["attrs"]["mountpoint"] for p in points["system.filesystem.usage"]} == {"/var/lib/my data"}
    points, _ = scrape("filesystem", {"exclude_fs_types": {"fs_types": ["ext4"], "match_type": "strict"}})
    assert {p["attrs"]["type"] for p in points["system.filesystem.usage"]} == {"xfs"}


def test_one_unreadable_mount_is_a_partial_error(scrape, attrs_of):
    saved = STATVFS.pop("/boot")
    try:
        points, errors = scrape("filesystem")
    finally:
        STATVFS["/boot"] = saved
    assert len(errors) == 1 and "failed to read usage at" in errors[0] and "boot" in errors[0]
    assert {p["attrs"]["mountpoint"] for p in points["system.filesystem.usage"]} == {"/", "/var/lib/my data"}


def test_utilization_is_optional(scrape, attrs_of):
    points, _ = scrape("filesystem", {"metrics": {"system.filesystem.utilization": {"enabled": True}}})
    util = attrs_of(points["system.filesystem.utilization"], "mountpoint")
    assert util[("/",)] == 600 / 950 and points["system.filesystem.utilization"][0]["kind"] == "gauge"


def test_utilization_of_an_empty_filesystem_is_zero_not_missing(scrape, attrs_of):
    # gopsutil's UsedPercent is 0 when used + free is 0; upstream records that point.
    saved = STATVFS["/boot"]
    STATVFS["/boot"] = statvfs_result(blocks=0, bfree=0, bavail=0, files=0, ffree=0)
    try:
        points, _ = scrape("filesystem", {"metrics": {"system.filesystem.utilization": {"enabled": True}}})
    finally:
        STATVFS["/boot"] = saved
    assert attrs_of(points["system.filesystem.utilization"], "mountpoint")[("/boot",)] == 0.0


def test_zfs_counts_as_device_backed_as_gopsutil_does():
    from collector.receivers.hostmetrics.procfs import parse_filesystems

    assert parse_filesystems("nodev\tsysfs\n\text4\nnodev\tzfs\n") == {"ext4", "zfs"}
