/**
 * SQLite schema, as ordered migrations. `user_version` records the last one
 * applied; each runs in its own transaction, so a crash mid-upgrade leaves the
 * previous version intact. Append new migrations; never edit an applied one.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'rules, triggers, events (+fts5), deliveries, rule_state',
    sql: `
      CREATE TABLE rules (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        pattern TEXT NOT NULL,
        severity TEXT NOT NULL,
        source TEXT,
        overrides INTEGER REFERENCES rules(id) ON DELETE CASCADE,
        std TEXT NOT NULL DEFAULT 'both',
        cooldown_s INTEGER NOT NULL DEFAULT 0,
        enabled INTEGER NOT NULL DEFAULT 1,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX rules_one_override ON rules(source, overrides) WHERE overrides IS NOT NULL;
      CREATE INDEX rules_overrides ON rules(overrides);

      CREATE TABLE triggers (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        url TEXT NOT NULL,
        secret TEXT NOT NULL DEFAULT '',
        filter TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
      );

      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time INTEGER NOT NULL,
        severity TEXT NOT NULL,
        source TEXT NOT NULL,
        rule_id INTEGER NOT NULL,
        rule_name TEXT NOT NULL,
        message TEXT NOT NULL,
        captures TEXT NOT NULL,
        record_seq INTEGER NOT NULL,
        origin TEXT NOT NULL
      );
      CREATE INDEX events_time ON events(time);
      CREATE INDEX events_severity ON events(severity, id);
      CREATE INDEX events_source ON events(source, id);
      CREATE INDEX events_rule ON events(rule_id, id);

      CREATE VIRTUAL TABLE events_fts USING fts5(message, content='events', content_rowid='id');
      CREATE TRIGGER events_fts_ai AFTER INSERT ON events BEGIN
        INSERT INTO events_fts(rowid, message) VALUES (new.id, new.message);
      END;
      CREATE TRIGGER events_fts_ad AFTER DELETE ON events BEGIN
        INSERT INTO events_fts(events_fts, rowid, message) VALUES ('delete', old.id, old.message);
      END;

      CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        trigger_id INTEGER NOT NULL REFERENCES triggers(id) ON DELETE CASCADE,
        delivery_id TEXT NOT NULL,
        event_id INTEGER,
        result TEXT NOT NULL,
        status INTEGER,
        latency_ms REAL,
        attempts INTEGER NOT NULL,
        error TEXT,
        response_snippet TEXT,
        test INTEGER NOT NULL DEFAULT 0,
        time INTEGER NOT NULL
      );
      CREATE INDEX deliveries_trigger ON deliveries(trigger_id, id);
      CREATE INDEX deliveries_time ON deliveries(time);

      CREATE TABLE rule_state (
        rule_id INTEGER NOT NULL REFERENCES rules(id) ON DELETE CASCADE,
        instance TEXT NOT NULL,
        last_fired INTEGER NOT NULL,
        PRIMARY KEY (rule_id, instance)
      ) WITHOUT ROWID;
      CREATE INDEX rule_state_fired ON rule_state(last_fired);
    `,
  },
  {
    version: 2,
    name: 'events.record_key: one event per rule and record across a cluster',
    sql: `
      ALTER TABLE events ADD COLUMN record_key TEXT;
      CREATE UNIQUE INDEX events_record_key ON events(rule_id, record_key) WHERE record_key IS NOT NULL;
    `,
  },
  {
    version: 3,
    name: 'deliveries by delivery id (a delivery made again is looked up)',
    sql: `CREATE INDEX deliveries_delivery_id ON deliveries(delivery_id);`,
  },
];
