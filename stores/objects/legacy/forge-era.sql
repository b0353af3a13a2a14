-- Legacy sample: the forge-era objects.db layout (user_version = 0), with rows.
CREATE TABLE db_client    (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL);
CREATE TABLE db_window    (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL);
CREATE TABLE db_workspace (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL);
CREATE TABLE db_tab       (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL);
CREATE TABLE db_layout    (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL);
CREATE TABLE db_block     (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL);
CREATE TABLE db_temp      (oid TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1, data TEXT NOT NULL);

CREATE TABLE db_forge_agents (
  id          TEXT PRIMARY KEY,
  slug        TEXT NOT NULL DEFAULT '',
  name        TEXT NOT NULL,
  provider    TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX idx_forge_agents_slug ON db_forge_agents(slug);

CREATE TABLE db_forge_content (
  agent_id     TEXT NOT NULL REFERENCES db_forge_agents(id) ON DELETE CASCADE,
  content_type TEXT NOT NULL,
  content      TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (agent_id, content_type)
);

CREATE TABLE db_forge_skills (
  id       TEXT PRIMARY KEY,
  agent_id TEXT NOT NULL REFERENCES db_forge_agents(id) ON DELETE CASCADE,
  name     TEXT NOT NULL,
  content  TEXT NOT NULL DEFAULT ''
);

CREATE TABLE db_forge_history (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  agent_id   TEXT NOT NULL REFERENCES db_forge_agents(id) ON DELETE CASCADE,
  started_at INTEGER NOT NULL,
  summary    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX idx_forge_history_agent_date ON db_forge_history(agent_id, started_at);

CREATE TABLE db_identities (
  id           TEXT PRIMARY KEY,
  provider     TEXT NOT NULL,
  display_name TEXT NOT NULL DEFAULT ''
);

CREATE TABLE db_forge_agent_identities (
  agent_id   TEXT NOT NULL REFERENCES db_forge_agents(id) ON DELETE CASCADE,
  account_id TEXT NOT NULL REFERENCES db_identities(id) ON DELETE CASCADE,
  PRIMARY KEY (agent_id, account_id)
);
CREATE INDEX idx_forge_agent_identities_account ON db_forge_agent_identities(account_id);

CREATE TABLE db_memories (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  instructions TEXT NOT NULL DEFAULT '',
  is_blank     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_memories_is_blank ON db_memories(is_blank);

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

-- Dead tables: kept by the old chain only for a downgrade path that is abandoned.
-- Their data was copied into db_drone_* long ago; adoption drops them.
CREATE TABLE db_workflow_definitions (
  id   TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  spec TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE db_workflow_runs (
  id          TEXT PRIMARY KEY,
  workflow_id TEXT NOT NULL REFERENCES db_workflow_definitions(id) ON DELETE CASCADE,
  status      TEXT NOT NULL
);
CREATE TABLE db_v10_migrated_legacy_defs (id TEXT PRIMARY KEY);
CREATE TABLE db_v10_migrated_legacy_runs (id TEXT PRIMARY KEY);

-- Rows, so that `stores verify` proves every one survives adoption.
INSERT INTO db_client VALUES ('c1', 3, '{"name":"client"}');
INSERT INTO db_window VALUES ('w1', 1, '{}'), ('w2', 2, '{"x":1}');
INSERT INTO db_workspace VALUES ('ws1', 1, '{"name":"main"}');
INSERT INTO db_tab VALUES ('t1', 1, '{}');
INSERT INTO db_layout VALUES ('l1', 1, '{}');
INSERT INTO db_block VALUES ('b1', 7, '{"view":"term"}');
INSERT INTO db_forge_agents (id, slug, name, provider, description, created_at) VALUES
  ('a1', 'coder', 'Coder', 'anthropic', 'writes code', 1700000000),
  ('a2', 'reviewer', 'Reviewer', 'openai', '', 1700000100),
  ('a3', 'o''brien', 'O''Brien', 'local', 'quotes in data', 1700000200);
INSERT INTO db_forge_content VALUES ('a1', 'prompt', 'You write code.'), ('a2', 'prompt', 'You review.');
INSERT INTO db_forge_skills VALUES ('s1', 'a1', 'tests', 'run the tests'), ('s2', 'a1', 'lint', '');
INSERT INTO db_forge_history (agent_id, started_at, summary) VALUES ('a1', 1700001000, 'first run'), ('a2', 1700002000, 'second run');
INSERT INTO db_identities VALUES ('id1', 'github', 'octocat');
INSERT INTO db_forge_agent_identities VALUES ('a1', 'id1');
INSERT INTO db_memories VALUES ('m1', 'notes', 'remember this', 0), ('blank', '', '', 1);
INSERT INTO db_drone_definitions VALUES ('d1', 'nightly', '{"cron":"0 3 * * *"}', 1700000000);
INSERT INTO db_drone_runs VALUES ('r1', 'd1', 'succeeded', 1700003000, 1700003060), ('r2', 'd1', 'queued', NULL, NULL);
INSERT INTO db_workflow_definitions VALUES ('wf1', 'old flow', '{}');
INSERT INTO db_workflow_runs VALUES ('wr1', 'wf1', 'done');
INSERT INTO db_v10_migrated_legacy_defs VALUES ('wf1');
