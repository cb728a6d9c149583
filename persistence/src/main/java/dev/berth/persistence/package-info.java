/**
 * The journal: where it lives (LevelDB under --root, local snapshots), how it is checked before it
 * opens ({@link dev.berth.persistence.JournalCheck}), and how what it holds is written (Jackson
 * CBOR for every {@link dev.berth.persistence.CborSerializable}).
 *
 * <p><b>The evolution rule</b> for what the journal holds (events, snapshot states and the values
 * inside them, all Java records), so that a journal written by any earlier Berth reads back:
 *
 * <ul>
 *   <li>A class keeps its fully-qualified name (the manifest of every entry) and its JSON type name
 *       ({@code @JsonSubTypes}). Renaming or moving one needs a {@code JacksonMigration} registered
 *       under {@code pekko.serialization.jackson.migrations}.
 *   <li>A field keeps its name and its JSON type. A new field may be added anywhere: entries
 *       written before it read back with null, 0 or false there, and the record must give that
 *       value a meaning (e.g. {@code ContainerSpec.seccompProfile} null is "the daemon's default").
 *   <li>A field that is no longer needed may stay unused; unknown properties are ignored on read.
 * </ul>
 *
 * <p>Enforced by {@code JournalSchemaTest} (actors: every journaled class and field is listed in
 * {@code journal-schema.txt}, which only grows) and {@code JournalCompatibilityIT} (the newest
 * daemon on a journal written by an older commit, src/test/fixtures).
 */
package dev.berth.persistence;
