-- The data model of a gscluster data directory. See DESIGN.md, "Data model".

-- One row that serializes committers: every writing transaction starts with
-- UPDATE head SET rev = rev + 1 RETURNING rev, so revision order is commit
-- order and no revision is ever skipped.
CREATE TABLE head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    rev       bigint  NOT NULL
);
INSERT INTO head (singleton, rev) VALUES (true, 0);

CREATE TABLE revisions (
    rev          bigint      PRIMARY KEY,
    origin       text        NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT now(),
    summary      text        NOT NULL DEFAULT ''
);

-- Inode 1 is the root directory.
CREATE SEQUENCE inode_ids START 2;

CREATE TABLE inodes (
    ino      bigint  PRIMARY KEY,
    kind     text    NOT NULL CHECK (kind IN ('f', 'd', 'l')),
    mode     integer NOT NULL,          -- permission bits (07777)
    uid      integer NOT NULL,
    gid      integer NOT NULL,
    size     bigint  NOT NULL DEFAULT 0,
    mtime_ns bigint  NOT NULL,
    ctime_ns bigint  NOT NULL,
    nlink    integer NOT NULL DEFAULT 1,
    hash     bytea,                     -- files: SHA-256 of the content
    target   text,                      -- symlinks
    rev      bigint  NOT NULL           -- the revision that last changed it
);
INSERT INTO inodes (ino, kind, mode, uid, gid, mtime_ns, ctime_ns, nlink, rev)
VALUES (1, 'd', 493, 0, 0, 0, 0, 2, 0);

-- Names, kept apart from inodes as POSIX does: hard links and renames are
-- plain row updates.
CREATE TABLE dentries (
    parent bigint NOT NULL,
    name   text   NOT NULL,
    ino    bigint NOT NULL,
    PRIMARY KEY (parent, name)
);
CREATE INDEX dentries_ino ON dentries (ino);

CREATE TABLE xattrs (
    ino   bigint NOT NULL,
    name  text   NOT NULL,
    value bytea  NOT NULL,
    PRIMARY KEY (ino, name)
);

-- Content addressed by SHA-256. A blob up to the chunk size holds its bytes
-- in data; a larger one holds, in chunks, the concatenated 32-byte hashes of
-- the blobs that make it up, in order.
CREATE TABLE blobs (
    hash   bytea  PRIMARY KEY,
    size   bigint NOT NULL,
    data   bytea,
    chunks bytea,
    CHECK ((data IS NULL) <> (chunks IS NULL))
);

-- The change log: one row per changed name per revision, with the state the
-- name has after the change (NULL kind for a deletion), so the tree at any
-- revision can be rebuilt from it.
CREATE TABLE changes (
    rev      bigint  NOT NULL,
    seq      integer NOT NULL,
    path     text    NOT NULL,
    op       text    NOT NULL,     -- create, modify, delete, meta
    ino      bigint,
    kind     text,
    mode     integer,
    uid      integer,
    gid      integer,
    size     bigint,
    mtime_ns bigint,
    hash     bytea,
    target   text,
    old_hash bytea,
    PRIMARY KEY (rev, seq)
);
CREATE INDEX changes_path ON changes (path text_pattern_ops, rev);

-- The catalog index: ids, names and references of GeoServer catalog objects,
-- parsed from their XML after each commit. The files stay the source of
-- truth; a file that does not parse is indexed with parse_error set.
CREATE TABLE catalog_objects (
    path          text   PRIMARY KEY,
    kind          text   NOT NULL,
    id            text   NOT NULL DEFAULT '',
    name          text   NOT NULL DEFAULT '',
    workspace     text   NOT NULL DEFAULT '',   -- workspace name, from the path
    workspace_ref text   NOT NULL DEFAULT '',
    namespace_ref text   NOT NULL DEFAULT '',
    store_ref     text   NOT NULL DEFAULT '',
    resource_ref  text   NOT NULL DEFAULT '',
    default_style text   NOT NULL DEFAULT '',
    styles        text[] NOT NULL DEFAULT '{}',
    layers        text[] NOT NULL DEFAULT '{}',
    parse_error   text,
    rev           bigint NOT NULL
);
CREATE INDEX catalog_objects_id ON catalog_objects (id);
CREATE INDEX catalog_objects_kind ON catalog_objects (kind, name);

-- lz4 is several times faster than the default pglz for XML; servers built
-- without it keep pglz.
DO $$
BEGIN
    ALTER TABLE blobs ALTER COLUMN data SET COMPRESSION lz4;
EXCEPTION WHEN OTHERS THEN
    NULL;
END
$$;
