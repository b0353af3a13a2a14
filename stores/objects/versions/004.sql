-- objects.db: the schema of version 4, frozen by `stores freeze` on 2026-11-21.
-- Never edit: change the schema with a new migration and a new version.
CREATE TABLE db_client    (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL);
CREATE TABLE db_window    (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL);
CREATE TABLE db_workspace (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL);
CREATE TABLE db_tab       (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL);
CREATE TABLE db_layout    (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL);
CREATE TABLE db_block     (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL);
CREATE TABLE db_temp      (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL);
CREATE TABLE db_agent_definitions (
  id          TEXT PRIMARY KEY,
  slug        TEXT NOT NULL DEFAULT '',
  name        TEXT NOT NULL,
  provider    TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL DEFAULT 0,
  updated_at  INTEGER NOT NULL DEFAULT 0,   -- added in version 2
  user_hidden INTEGER NOT NULL DEFAULT 0    -- added in version 3
);
CREATE UNIQUE INDEX idx_agent_definitions_slug ON db_agent_definitions(slug);
CREATE TABLE db_agent_content (
  agent_id     TEXT NOT NULL REFERENCES db_agent_definitions(id) ON DELETE CASCADE,
  content_type TEXT NOT NULL,
  content      TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (agent_id, content_type)
);
CREATE TABLE db_agent_skills (
  id       TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES db_agent_definitions(id) ON DELETE CASCADE,
  name     TEXT NOT NULL,
  content  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE db_agent_history (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  agent_id   TEXT NOT NULL REFERENCES db_agent_definitions(id) ON DELETE CASCADE,
  started_at INTEGER NOT NULL,
  summary    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX idx_agent_history_agent_date ON db_agent_history(agent_id, started_at);
CREATE TABLE db_identity_bundles (
  id           TEXT PRIMARY KEY,
  provider     TEXT NOT NULL,
  display_name TEXT NOT NULL DEFAULT ''
);
CREATE TABLE db_agent_identity_links (
  agent_id   TEXT NOT NULL REFERENCES db_agent_definitions(id) ON DELETE CASCADE,
  account_id TEXT NOT NULL REFERENCES db_identity_bundles(id) ON DELETE CASCADE,
  PRIMARY KEY (agent_id, account_id)
);
CREATE INDEX idx_agent_identity_links_account ON db_agent_identity_links(account_id);
CREATE TABLE db_memory_bundles (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  instructions TEXT NOT NULL DEFAULT '',
  is_blank     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_memory_bundles_is_blank ON db_memory_bundles(is_blank);
CREATE TABLE db_drone_definitions (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  spec       TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE db_drone_runs (
  id          TEXT PRIMARY KEY,
  drone_id    TEXT NOT NULL REFERENCES db_drone_definitions(id) ON DELETE CASCADE,
  status      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  started_at  INTEGER,
  finished_at INTEGER
);
CREATE INDEX idx_drone_runs_drone ON db_drone_runs(drone_id, started_at);
CREATE TABLE db_agents (
  id            TEXT PRIMARY KEY,
  definition_id TEXT REFERENCES db_agent_definitions(id) ON DELETE SET NULL,
  slug          TEXT NOT NULL DEFAULT '',
  name          TEXT NOT NULL,
  provider      TEXT NOT NULL,
  user_hidden   INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL DEFAULT 0,
  updated_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_agents_definition ON db_agents(definition_id);
