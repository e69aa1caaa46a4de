/// RewindEngine: the Redis 7.0-compatible keyspace. No files, sockets or clocks.
public enum RewindEngineModule {}
