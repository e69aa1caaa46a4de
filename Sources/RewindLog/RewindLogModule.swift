/// RewindLog: the segmented, checksummed, compressed command log. See docs/FORMAT.md.
public enum RewindLogModule {}
