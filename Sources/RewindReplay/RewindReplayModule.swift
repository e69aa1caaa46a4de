/// RewindReplay: replay, import and export. Joins the engine and the log.
public enum RewindReplayModule {}
