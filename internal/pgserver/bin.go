package pgserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// errNoBinaries is what a person sees when the server is not installed.
var errNoBinaries = errors.New("postgresql server binaries not found: install them with `apt-get install postgresql`")

// serverPrograms must all be present for a directory to count as BinDir.
var serverPrograms = []string{"initdb", "pg_ctl", "postgres"}

// BinDir returns the directory holding initdb, pg_ctl and postgres: the
// one `pg_config --bindir` names, else the newest
// /usr/lib/postgresql/VERSION/bin. The answer is computed once. It is safe
// for concurrent use.
func BinDir() (string, error) { return binDir() }

var binDir = sync.OnceValues(func() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); hasServerPrograms(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest first, comparing versions as numbers so 9.6 sorts below 10.
	slices.SortFunc(dirs, func(a, b string) int {
		return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
	})
	for _, dir := range dirs {
		if hasServerPrograms(dir) {
			return dir, nil
		}
	}
	return "", errNoBinaries
})

func hasServerPrograms(dir string) bool {
	if dir == "" {
		return false
	}
	for _, p := range serverPrograms {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// Version returns the major version of the server binaries in BinDir, such
// as 15. It is safe for concurrent use.
func Version() (int, error) { return version() }

var version = sync.OnceValues(func() (int, error) {
	dir, err := BinDir()
	if err != nil {
		return 0, err
	}
	prog := filepath.Join(dir, "pg_ctl")
	out, err := exec.Command(prog, "--version").Output()
	if err != nil {
		return 0, fmt.Errorf("read version of %s: %w", prog, err)
	}
	m := versionRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("read version of %s: unexpected output %q", prog, bytes.TrimSpace(out))
	}
	return strconv.Atoi(string(m[1]))
})

// serverUser is the account the server programs run as when the process
// is root.
const serverUser = "postgres"

type owner struct {
	uid, gid int
	gids     []int // every group the user is in, primary included
	name     string
}

// Owner returns the user and group IDs the server programs run as and own
// the data directory with: the postgres user when the process is root,
// otherwise the current user. It is safe for concurrent use.
func Owner() (uid, gid int, err error) {
	o, err := serverOwner()
	if err != nil {
		return 0, 0, err
	}
	return o.uid, o.gid, nil
}

var serverOwner = sync.OnceValues(func() (owner, error) {
	if os.Geteuid() != 0 {
		gids, _ := os.Getgroups()
		return owner{uid: os.Geteuid(), gid: os.Getegid(), gids: append(gids, os.Getegid())}, nil
	}
	u, err := user.Lookup(serverUser)
	if err != nil {
		return owner{}, fmt.Errorf("look up user %s: %w (postgresql refuses to run as root: install it with `apt-get install postgresql`, which creates the user)", serverUser, err)
	}
	o := owner{name: u.Username}
	o.uid, _ = strconv.Atoi(u.Uid)
	o.gid, _ = strconv.Atoi(u.Gid)
	o.gids = []int{o.gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.Atoi(id); err == nil {
				o.gids = append(o.gids, g)
			}
		}
	}
	return o, nil
})

// Command returns a command that runs the server program name (initdb,
// pg_ctl, postgres, psql, ...) from BinDir with args. When the process is
// root the command runs the program as the postgres user through runuser,
// because PostgreSQL refuses to run as root. The command starts in "/" so
// that the server user never needs access to the current directory, and
// waits at most 5 s for its output after the program exits. It is safe for
// concurrent use.
func Command(ctx context.Context, name string, args ...string) (*exec.Cmd, error) {
	dir, err := BinDir()
	if err != nil {
		return nil, err
	}
	prog := filepath.Join(dir, name)
	var cmd *exec.Cmd
	if os.Geteuid() != 0 {
		cmd = exec.CommandContext(ctx, prog, args...)
	} else {
		if _, err := serverOwner(); err != nil {
			return nil, err
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			return nil, errors.New("runuser not found: install it with `apt-get install util-linux` (postgresql refuses to run as root)")
		}
		cmd = exec.CommandContext(ctx, runuser, append([]string{"-u", serverUser, "--", prog}, args...)...)
	}
	cmd.Dir = "/"
	// A server started by pg_ctl could inherit our output pipe; do not
	// wait for it to close.
	cmd.WaitDelay = 5 * time.Second
	return cmd, nil
}

// checkTraversable reports the first parent of dir that the server user
// cannot enter. dir must exist.
func checkTraversable(dir string, o owner) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	for p := filepath.Dir(real); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		perm := fi.Mode().Perm()
		var can bool
		switch {
		case int(st.Uid) == o.uid:
			can = perm&0o100 != 0
		case slices.Contains(o.gids, int(st.Gid)):
			can = perm&0o010 != 0
		default:
			can = perm&0o001 != 0
		}
		if !can {
			return fmt.Errorf("directory %s is not traversable by user %s (run `chmod o+x %s` or choose a directory outside it)", p, o.name, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// lastLines returns the last n non-empty lines of text joined into one line.
func lastLines(text string, n int) string {
	var keep []string
	lines := strings.Split(text, "\n")
	for i := len(lines) - 1; i >= 0 && len(keep) < n; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			keep = append(keep, l)
		}
	}
	slices.Reverse(keep)
	return strings.Join(keep, "; ")
}

// logTail returns the last n non-empty lines of the file at path.
func logTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const window = 8 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > window {
		if _, err := f.Seek(fi.Size()-window, 0); err != nil {
			return ""
		}
	}
	buf, _ := io.ReadAll(f)
	return lastLines(string(buf), n)
}
