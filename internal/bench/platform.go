package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// startTimeout bounds the wait for the platform's "listening" line.
const startTimeout = 30 * time.Second

// listenRE matches the line bahasha serve prints once it accepts connections.
var listenRE = regexp.MustCompile(`Bahasha \S+ listening on http://(\S+) \(data in `)

// serveFlags is what bahasha serve -h says the binary supports.
type serveFlags struct {
	maxBatch        bool
	maxBatchDefault int // 0 when not printed
	database        bool
	metrics         bool
}

// probeServe runs "binary serve -h" and reads which flags serve has.
func probeServe(ctx context.Context, binary string, env []string) (serveFlags, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve", "-h")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	help := string(out)
	if !strings.Contains(help, "-addr") || !strings.Contains(help, "-allow-private-targets") {
		if err == nil {
			err = errors.New("its help does not list --addr and --allow-private-targets")
		}
		return serveFlags{}, fmt.Errorf("%s does not look like a bahasha binary with a serve command (%v); choose one with --binary", binary, err)
	}
	var f serveFlags
	f.database = hasFlag(help, "database")
	f.metrics = hasFlag(help, "metrics-addr")
	if f.maxBatch = hasFlag(help, "max-batch"); f.maxBatch {
		f.maxBatchDefault = flagDefault(help, "max-batch")
	}
	return f, nil
}

// hasFlag reports whether the flag package's usage text lists -name.
func hasFlag(help, name string) bool {
	return regexp.MustCompile(`(?m)^\s+--?` + regexp.QuoteMeta(name) + `(\s|=|$)`).MatchString(help)
}

// flagDefault is the whole-number "(default N)" of -name in the flag
// package's usage text, or 0.
func flagDefault(help, name string) int {
	loc := regexp.MustCompile(`(?m)^\s+--?` + regexp.QuoteMeta(name) + `(\s|=|$)`).FindStringIndex(help)
	if loc == nil {
		return 0
	}
	rest := help[loc[1]:]
	if next := regexp.MustCompile(`(?m)^\s+-`).FindStringIndex(rest); next != nil {
		rest = rest[:next[0]]
	}
	m := regexp.MustCompile(`\(default (\d+)\)`).FindStringSubmatch(rest)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// platform is a running bahasha serve child process.
type platform struct {
	cmd     *exec.Cmd
	addr    string // host:port
	dataDir string
	stdout  *outputTail
	stderr  *outputTail

	done    chan struct{} // closed when the process has exited
	waitErr error

	stopOnce sync.Once
}

// startPlatform starts "binary serve" on 127.0.0.1:0 in a new temporary
// data folder and waits until it listens. args are serve's extra flags.
func startPlatform(ctx context.Context, binary string, env, args []string) (*platform, error) {
	dir, err := os.MkdirTemp("", "bahasha-bench-*")
	if err != nil {
		return nil, fmt.Errorf("cannot create the temporary data folder: %w", err)
	}
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir, "--allow-private-targets", "--sandbox-pace", "0"}, args...)
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = env
	cmd.SysProcAttr = childAttrs()
	cmd.WaitDelay = 2 * time.Second
	p := &platform{cmd: cmd, dataDir: dir, stdout: newOutputTail(listenRE), stderr: newOutputTail(nil), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("cannot start %s: %w", binary, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case p.addr = <-p.stdout.found:
		return p, nil
	case <-p.done:
		err = fmt.Errorf("the platform exited before it listened (%v): %s", p.waitErr, p.stderr.lastLine())
	case <-timer.C:
		err = fmt.Errorf("the platform did not listen within %s: %s", startTimeout, p.stderr.lastLine())
	case <-ctx.Done():
		err = ctx.Err()
	}
	p.stop()
	return nil, err
}

// pid is the platform's process id.
func (p *platform) pid() int { return p.cmd.Process.Pid }

// exited reports why the platform stopped, or nil while it runs.
func (p *platform) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("the platform exited during the run (%v): %s", p.waitErr, p.stderr.lastLine())
	default:
		return nil
	}
}

// stop kills the platform, waits for it and removes its data folder. It is
// safe to call more than once.
func (p *platform) stop() {
	p.stopOnce.Do(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		os.RemoveAll(p.dataDir)
	})
}

// outputTail is an io.Writer, safe for concurrent use, that keeps the last
// few KB of a process's output and reports the first match of watch's first
// group on found.
type outputTail struct {
	mu      sync.Mutex
	watch   *regexp.Regexp
	found   chan string
	partial []byte // the unfinished last line
	tail    []byte
}

const tailBytes = 8 << 10

func newOutputTail(watch *regexp.Regexp) *outputTail {
	return &outputTail{watch: watch, found: make(chan string, 1)}
}

func (o *outputTail) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tail = append(o.tail, b...)
	if len(o.tail) > 2*tailBytes {
		o.tail = append(o.tail[:0], o.tail[len(o.tail)-tailBytes:]...)
	}
	if o.watch == nil {
		return len(b), nil
	}
	o.partial = append(o.partial, b...)
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			break
		}
		line := o.partial[:i]
		if m := o.watch.FindSubmatch(line); m != nil {
			select {
			case o.found <- string(m[1]):
			default:
			}
			o.watch = nil // report once; stop scanning
			o.partial = nil
			break
		}
		o.partial = o.partial[i+1:]
	}
	if len(o.partial) > tailBytes { // a huge line without a newline: not ours
		o.partial = o.partial[:0]
	}
	return len(b), nil
}

// find is the first group of re's first match in the output kept.
func (o *outputTail) find(re *regexp.Regexp) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if m := re.FindSubmatch(o.tail); m != nil {
		return string(m[1])
	}
	return ""
}

// lastLine is the last non-empty line written, for one-line error messages.
func (o *outputTail) lastLine() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(o.tail)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return "it printed nothing on stderr"
	}
	return last
}
