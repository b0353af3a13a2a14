-- Legacy sample: a filestore.db written before versioning (same tables, user_version = 0), with rows.
CREATE TABLE wave_file (
  zoneid    TEXT NOT NULL,
  name      TEXT NOT NULL,
  size      INTEGER NOT NULL DEFAULT 0,
  createdts INTEGER NOT NULL,
  modts     INTEGER NOT NULL,
  opts      TEXT NOT NULL DEFAULT '{}',
  meta      TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (zoneid, name)
);
CREATE TABLE file_data (
  zoneid  TEXT NOT NULL,
  name    TEXT NOT NULL,
  partidx INTEGER NOT NULL,
  data    BLOB NOT NULL,
  PRIMARY KEY (zoneid, name, partidx),
  FOREIGN KEY (zoneid, name) REFERENCES wave_file(zoneid, name) ON DELETE CASCADE
);
INSERT INTO wave_file VALUES ('z1', 'a.txt', 5, 1700000000, 1700000001, '{}', '{"mime":"text/plain"}');
INSERT INTO wave_file VALUES ('z1', 'b.bin', 3, 1700000000, 1700000002, '{}', '{}');
INSERT INTO file_data VALUES ('z1', 'a.txt', 0, X'68656C6C6F'), ('z1', 'b.bin', 0, X'000102');
