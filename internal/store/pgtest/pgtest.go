// Package pgtest gives tests a real PostgreSQL: URL returns the URL of a
// fresh, empty database for one test.
//
// With BAHASHA_TEST_DATABASE_URL set (a role allowed to CREATE DATABASE),
// each test gets a new database on that server, dropped when the test ends.
// Otherwise the first call starts a throwaway PostgreSQL server from the
// installed binaries: initdb in a temporary folder (as the postgres user
// when the tests run as root, through runuser, since initdb refuses root),
// then pg_ctl start on a free loopback port with fsync off. That one server
// serves the whole test binary, one database per test (CREATE DATABASE
// t_<n>); TestMain stops it with Stop after m.Run:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		pgtest.Stop()
//		os.Exit(code)
//	}
//
// The binaries are looked up as /usr/local/bin/initdb, on PATH, then in
// /usr/lib/postgresql/*/bin. When neither the variable nor the binaries are
// there, the test is skipped with a message saying how to run it: install
// PostgreSQL (apt-get install postgresql-15) or set
// BAHASHA_TEST_DATABASE_URL=postgres://user:pass@host:5432/postgres.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

// EnvURL names the variable that points the tests at an existing server.
const EnvURL = "BAHASHA_TEST_DATABASE_URL"

// skipMessage says how to run the PostgreSQL tests.
const skipMessage = "pgtest: no PostgreSQL to test against: install PostgreSQL 15 (apt-get install postgresql-15: initdb and pg_ctl) " +
	"or set " + EnvURL + "=postgres://user:password@host:5432/postgres (a role that may CREATE DATABASE)"

var (
	mu      sync.Mutex
	srv     *server // the server this binary started, if any
	srvErr  error   // why it could not start
	started bool
	counter int
	prefix  = "t_" // database names: t_<n> on our own server
)

// server is a PostgreSQL started by this package.
type server struct {
	dir     string // the temporary folder: data/, the socket, the log
	binDir  string
	port    int
	asUser  string // run the binaries as this user ("" as ourselves)
	adminDB string // URL of the postgres database
	// lifeline is the pipe the watchdog waits on (see watch).
	lifeline *os.File
	// opts are the server options pg_ctl start was given.
	opts string
}

// URL returns the URL of a new, empty database for t, or skips t when no
// PostgreSQL is available.
func URL(t testing.TB) string {
	t.Helper()
	admin, shared, err := adminURL()
	if errors.Is(err, errUnavailable) {
		if os.Getenv(EnvRequire) != "" {
			t.Fatalf("pgtest: %s is set but %s", EnvRequire, skipMessage)
		}
		t.Skip(skipMessage)
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	mu.Lock()
	counter++
	name := prefix + strconv.Itoa(counter)
	mu.Unlock()
	if shared {
		// A server other runs may share: names that cannot collide.
		var b [4]byte
		rand.Read(b[:])
		name = fmt.Sprintf("bahasha_t_%d_%s_%d", os.Getpid(), hex.EncodeToString(b[:]), counter)
	}
	if err := exec1(admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	if shared {
		t.Cleanup(func() {
			if err := exec1(admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
				t.Logf("pgtest: drop database %s: %v", name, err)
			}
		})
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

var errUnavailable = errors.New("no PostgreSQL available")

// EnvRequire, when set (the README's test command sets it), turns the skip
// for a missing PostgreSQL into a failure, so that a skipped suite is never
// mistaken for a passing one.
const EnvRequire = "BAHASHA_REQUIRE_POSTGRES"

// adminURL returns the URL of a database to run CREATE DATABASE in, and
// whether the server is shared (from the environment).
func adminURL() (string, bool, error) {
	if u := os.Getenv(EnvURL); u != "" {
		return u, true, nil
	}
	mu.Lock()
	defer mu.Unlock()
	if !started {
		started = true
		srv, srvErr = start()
	}
	if srvErr != nil {
		return "", false, srvErr
	}
	return srv.adminDB, false, nil
}

// exec1 runs one statement in the database at dsn.
func exec1(dsn, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, stmt)
	return err
}

// binDir finds the folder of initdb and pg_ctl.
func binDir() (string, error) {
	var candidates []string
	candidates = append(candidates, "/usr/local/bin/initdb")
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, p)
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(versions, func(i, j int) bool { return pgVersion(versions[i]) > pgVersion(versions[j]) })
	candidates = append(candidates, versions...)
	for _, c := range candidates {
		real, err := filepath.EvalSymlinks(c)
		if err != nil {
			continue
		}
		dir := filepath.Dir(real)
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir, nil
		}
	}
	return "", errUnavailable
}

// pgVersion reads the major version out of /usr/lib/postgresql/<v>/bin/initdb.
func pgVersion(p string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
	return v
}

// start runs initdb and pg_ctl start.
func start() (*server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	s := &server{binDir: bin}
	if os.Geteuid() == 0 {
		// initdb refuses root: run the server as the postgres user.
		if _, err := exec.LookPath("runuser"); err != nil {
			return nil, fmt.Errorf("%w (running as root without runuser)", errUnavailable)
		}
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("%w (running as root and there is no postgres user)", errUnavailable)
		}
		s.asUser = "postgres"
	}
	dir, err := os.MkdirTemp("", "bahasha-pgtest-")
	if err != nil {
		return nil, err
	}
	s.dir = dir
	if s.asUser != "" {
		u, _ := user.Lookup(s.asUser)
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "-N"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	var lastErr error
	for range 3 { // the free port may be taken between its choice and the start
		if s.port, err = freePort(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		opts := fmt.Sprintf("-k %s -c listen_addresses=127.0.0.1 -p %d -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
			dir, s.port)
		out, err := s.run("pg_ctl", "start", "-w", "-t", "60", "-D", data, "-l", filepath.Join(dir, "postgres.log"), "-o", opts)
		if err == nil {
			s.opts = opts
			s.adminDB = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
			s.watch()
			return s, nil
		}
		log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
		lastErr = fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

// run runs one of the PostgreSQL binaries, as s.asUser when set. Its output
// goes to a file, not a pipe, so that a daemon inheriting it cannot hold
// the call up.
func (s *server) run(name string, args ...string) (string, error) {
	path := filepath.Join(s.binDir, name)
	cmd := exec.Command(path, args...)
	if s.asUser != "" {
		cmd = exec.Command("runuser", append([]string{"-u", s.asUser, "--", path}, args...)...)
	}
	cmd.Dir = s.dir
	out, err := os.CreateTemp("", "bahasha-pgtest-out-")
	if err != nil {
		return "", err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	b, _ := os.ReadFile(out.Name())
	return strings.TrimSpace(string(b)), err
}

// watch starts a watchdog process that stops the server and removes its
// folder once this test binary is gone, should it die without calling Stop
// (a panic, a timeout, a kill): the watchdog reads a pipe whose write end
// only this process holds, and the kernel closes it when the process dies.
func (s *server) watch() {
	r, w, err := os.Pipe()
	if err != nil {
		return
	}
	defer r.Close()
	script := fmt.Sprintf(`read _; [ -d %[1]q ] && %[2]q stop -m immediate -D %[3]q >/dev/null 2>&1; rm -rf %[1]q`,
		s.dir, filepath.Join(s.binDir, "pg_ctl"), filepath.Join(s.dir, "data"))
	cmd := exec.Command("sh", "-c", script)
	if s.asUser != "" {
		cmd = exec.Command("runuser", "-u", s.asUser, "--", "sh", "-c", script)
	}
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return
	}
	cmd.Process.Release()
	s.lifeline = w
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Stop stops the server URL started, if any, and removes its folder. Call
// it from TestMain after m.Run; it is safe to call when none was started.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if srv == nil {
		return
	}
	srv.destroy()
	srv, srvErr, started = nil, nil, false
}

// destroy stops s and removes its folder.
func (s *server) destroy() {
	if out, err := s.run("pg_ctl", "stop", "-m", "immediate", "-w", "-D", filepath.Join(s.dir, "data")); err != nil &&
		!strings.Contains(out, "is the server running") {
		fmt.Fprintf(os.Stderr, "pgtest: pg_ctl stop: %v\n%s\n", err, out)
	}
	os.RemoveAll(s.dir)
	if s.lifeline != nil {
		s.lifeline.Close() // the watchdog finds nothing left to do
	}
}

// Server is a PostgreSQL of one test's own, which the test may stop and
// start again (to see how the platform lives through a database outage).
type Server struct {
	t testing.TB
	s *server
}

// Private starts a PostgreSQL for t alone from the installed binaries (an
// outside server given by BAHASHA_TEST_DATABASE_URL cannot be stopped, so it
// is not used here), or skips t as URL does. It is stopped when t ends.
func Private(t testing.TB) *Server {
	t.Helper()
	s, err := start()
	if errors.Is(err, errUnavailable) {
		if os.Getenv(EnvRequire) != "" {
			t.Fatalf("pgtest: %s is set but %s", EnvRequire, skipMessage)
		}
		t.Skip(skipMessage)
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(s.destroy)
	return &Server{t: t, s: s}
}

// URL is the server's postgres database.
func (p *Server) URL() string { return p.s.adminDB }

// Pause stops the server (fast shutdown: connections are cut).
func (p *Server) Pause() {
	p.t.Helper()
	if out, err := p.s.run("pg_ctl", "stop", "-m", "fast", "-w", "-D", filepath.Join(p.s.dir, "data")); err != nil {
		p.t.Fatalf("pgtest: pg_ctl stop: %v\n%s", err, out)
	}
}

// Resume starts the paused server again on the same port.
func (p *Server) Resume() {
	p.t.Helper()
	data := filepath.Join(p.s.dir, "data")
	if out, err := p.s.run("pg_ctl", "start", "-w", "-t", "60", "-D", data, "-l", filepath.Join(p.s.dir, "postgres.log"), "-o", p.s.opts); err != nil {
		p.t.Fatalf("pgtest: pg_ctl start: %v\n%s", err, out)
	}
}

// Main is the TestMain of a package whose tests may start the server: it
// runs the tests, stops the server, then fails the binary if the tests left
// goroutines running (go.uber.org/goleak).
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines still running after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
