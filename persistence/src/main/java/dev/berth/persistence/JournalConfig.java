package dev.berth.persistence;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.nio.file.Path;

/** Places the LevelDB journal and the snapshot store under the daemon's root directory. */
public final class JournalConfig {
  private JournalConfig() {}

  /** Config overrides for a daemon whose persistent state lives under {@code root}. */
  public static Config forRoot(Path root) {
    return ConfigFactory.empty()
        .withValue(
            "pekko.persistence.journal.leveldb.dir",
            ConfigValueFactory.fromAnyRef(root.resolve("journal").toString()))
        .withValue(
            "pekko.persistence.snapshot-store.local.dir",
            ConfigValueFactory.fromAnyRef(root.resolve("snapshots").toString()));
  }
}
