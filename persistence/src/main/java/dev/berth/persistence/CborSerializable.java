package dev.berth.persistence;

/**
 * Marker for everything Berth writes to the journal or snapshot store (events, state snapshots) and
 * sends between actors. Bound to Jackson CBOR in reference.conf, so Java serialization stays off.
 */
public interface CborSerializable {}
