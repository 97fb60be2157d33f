/// SQLite storage with Kamailio's table layouts (subscriber, location, version, ...).
public enum StoragePlaceholder {}
