// Package plugins runs providers as separate processes, spoken to over
// gRPC (hashicorp/go-plugin with AutoMTLS), and hands the gateway an
// ordinary providers.Provider for each.
//
// Open checks the binary against its pinned SHA-256 before every launch,
// starts it, configures it and learns which capabilities it has; the
// Provider it returns implements exactly those capability interfaces.
// A supervisor health-checks the process; a plugin that crashed, stopped
// answering or left a call running long past its deadline is killed and
// started again with exponential backoff. Meanwhile its calls fail at once
// with an error wrapping providers.ErrUnavailable and ErrPluginShutdown, and
// every other provider keeps working.
//
// Plugin authors import plugins/sdk; plugins/examples/httpjson is a
// complete plugin.
package plugins

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/ssogate/ssogate/plugins/internal/wire"
	pb "github.com/ssogate/ssogate/plugins/proto"
	"github.com/ssogate/ssogate/providers"
)

// Type is what a plugin's Provider returns from Type().
const Type = "plugin"

var (
	// ErrPluginShutdown means the plugin process is gone (crashed, killed,
	// restarting or closed). Errors wrapping it also wrap
	// providers.ErrUnavailable.
	ErrPluginShutdown = errors.New("plugins: plugin shut down")
	// ErrChecksum means the plugin binary's SHA-256 is not the one the
	// configuration pins; the binary was not started.
	ErrChecksum = errors.New("plugins: binary does not match its sha256")
)

// Spec says which plugin to run. The wiring maps config.PluginProvider
// (plus the provider's id and label) onto it.
type Spec struct {
	// ID is the provider's id in the configuration; the plugin learns it
	// in Configure and every Identity it returns carries it.
	ID string
	// Label is the provider's label, for log lines.
	Label string
	// Command is the plugin binary, absolute or relative to the working
	// directory; a bare name is looked up in PATH.
	Command string
	Args    []string
	// SHA256 is the binary's expected SHA-256 in hex (as sha256sum prints
	// it). It is checked before every launch.
	SHA256 string
	// Config is handed to the plugin unchanged; empty means {}.
	Config json.RawMessage
	// Logger receives the supervisor's lines and the plugin's own log;
	// nil means slog.Default().
	Logger *slog.Logger
}

// Status is a plugin's health, for the admin pages and metrics.
type Status struct {
	// Healthy is true while a configured process is serving calls.
	Healthy bool
	// Restarts counts the successful restarts since Open.
	Restarts int
	// LastError is why the plugin last failed or last failed to start;
	// empty if it never did.
	LastError string
	// Since is when Healthy last changed.
	Since time.Time
	// PID is the plugin process's id while it is healthy, else 0.
	PID int
}

// timings are the supervisor's clocks; tests shorten them.
type timings struct {
	start      time.Duration // process start and handshake
	configure  time.Duration // Configure call
	call       time.Duration // Begin, Complete, Check, Metadata
	auth       time.Duration // Authenticate (a directory behind it may be slow)
	health     time.Duration // interval between health checks
	ping       time.Duration // health check deadline
	stuckAfter time.Duration // a call still running this long after its deadline means a hung plugin
	backoffMin time.Duration // first restart delay, doubled per failed attempt
	backoffMax time.Duration
	stable     time.Duration // a process that lived this long restarts from backoffMin again
}

var defaultTimings = timings{
	start:      10 * time.Second,
	configure:  10 * time.Second,
	call:       10 * time.Second,
	auth:       30 * time.Second,
	health:     3 * time.Second,
	ping:       2 * time.Second,
	stuckAfter: 2 * time.Second,
	backoffMin: 100 * time.Millisecond,
	backoffMax: 30 * time.Second,
	stable:     30 * time.Second,
}

// maxMessage bounds what a plugin may send in one answer (metadata is the
// largest legitimate one).
const maxMessage = 4 << 20

// Plugin is one running plugin: the process, its supervisor and the
// Provider in front of them. It is safe for concurrent use.
type Plugin struct {
	spec     Spec
	path     string // absolute path of the binary
	sum      []byte // pinned SHA-256
	log      *slog.Logger
	t        timings
	caps     caps
	kind     string // the plugin's own Type(), for logs
	provider providers.Provider

	ctx    context.Context // ends on Close
	cancel context.CancelFunc
	kick   chan struct{} // asks the supervisor to check health now
	done   chan struct{} // closed when the supervisor has stopped

	mu     sync.Mutex
	cur    *instance // nil while the plugin is down
	status Status
	closed bool
}

// instance is one process of a plugin.
type instance struct {
	client  *plugin.Client // nil for in-process tests
	cmd     *exec.Cmd
	conn    *grpc.ClientConn
	rpc     pb.ProviderPluginClient
	pid     int
	started time.Time
}

// kill ends the process at once and releases go-plugin's resources.
func (in *instance) kill() {
	if in.cmd != nil && in.cmd.Process != nil {
		_ = in.cmd.Process.Kill()
	}
	if in.client != nil {
		in.client.Kill()
	}
}

// caps are the capabilities a plugin declared.
type caps struct{ password, redirect, request, metadata bool }

func capsOf(c *pb.Capabilities) caps {
	return caps{c.GetPassword(), c.GetRedirect(), c.GetRequest(), c.GetMetadata()}
}

func (c caps) String() string {
	var s []string
	for _, x := range []struct {
		on   bool
		name string
	}{{c.password, "password"}, {c.redirect, "redirect"}, {c.request, "request"}, {c.metadata, "metadata"}} {
		if x.on {
			s = append(s, x.name)
		}
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}

// Open verifies the plugin binary, starts it, configures it and starts
// supervising it. ctx bounds the first start only. The caller must Close
// the Plugin.
func Open(ctx context.Context, spec Spec) (*Plugin, error) {
	return open(ctx, spec, defaultTimings)
}

func open(ctx context.Context, spec Spec, t timings) (*Plugin, error) {
	p, err := newPlugin(spec, t)
	if err != nil {
		return nil, err
	}
	if p.path, err = resolve(spec.Command); err != nil {
		p.cancel()
		return nil, fmt.Errorf("plugins: %s: command: %w", spec.ID, err)
	}
	inst, resp, err := p.launch(ctx)
	if err != nil {
		p.cancel()
		return nil, err
	}
	p.caps, p.kind = capsOf(resp.GetCapabilities()), resp.GetProviderType()
	p.provider = newProvider(p, p.caps)
	p.up(inst)
	p.log.Info("plugin started", "provider_label", spec.Label, "plugin_pid", inst.pid, "plugin_type", p.kind, "capabilities", p.caps.String())
	go p.supervise(inst)
	return p, nil
}

func newPlugin(spec Spec, t timings) (*Plugin, error) {
	if spec.ID == "" {
		return nil, errors.New("plugins: spec has no id")
	}
	if spec.Command == "" {
		return nil, fmt.Errorf("plugins: %s: command is empty; set it to the plugin binary's path", spec.ID)
	}
	sum, err := hex.DecodeString(strings.TrimSpace(spec.SHA256))
	if err != nil || len(sum) != sha256.Size {
		return nil, fmt.Errorf("plugins: %s: sha256 %q is not a SHA-256 in hex; run sha256sum %s and copy its 64 hex digits", spec.ID, spec.SHA256, spec.Command)
	}
	log := spec.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("provider_id", spec.ID)
	if len(bytes.TrimSpace(spec.Config)) == 0 {
		spec.Config = json.RawMessage("{}")
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Plugin{
		spec:   spec,
		sum:    sum,
		log:    log,
		t:      t,
		ctx:    ctx,
		cancel: cancel,
		kick:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}, nil
}

// resolve finds the binary once, so that restarts run the same file even
// if the working directory or PATH changes.
func resolve(command string) (string, error) {
	path, err := exec.LookPath(command)
	if err != nil {
		return "", err
	}
	return filepath.Abs(path)
}

// checkSum compares the binary with the pinned SHA-256.
func (p *Plugin) checkSum() error {
	f, err := os.Open(p.path)
	if err != nil {
		return fmt.Errorf("plugins: %s: %w", p.spec.ID, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("plugins: %s: reading %s: %w", p.spec.ID, p.path, err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, p.sum) {
		return fmt.Errorf("plugins: %s: %s has sha256 %x but the configuration expects %x; not starting it (if the new binary is trusted, put its sha256sum in sha256): %w",
			p.spec.ID, p.path, got, p.sum, ErrChecksum)
	}
	return nil
}

// launch verifies, starts and configures one process.
func (p *Plugin) launch(ctx context.Context) (*instance, *pb.ConfigureResponse, error) {
	if err := p.checkSum(); err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(p.path, p.spec.Args...)
	hl := newHCLogger(p.log)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  wire.Handshake,
		Plugins:          plugin.PluginSet{wire.PluginName: &wire.GRPCPlugin{}},
		Cmd:              cmd,
		SecureConfig:     &plugin.SecureConfig{Checksum: p.sum, Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     p.t.start,
		Logger:           hl,
		SyncStdout:       &lineLogger{log: p.log, stream: "stdout"},
		SyncStderr:       &lineLogger{log: p.log, stream: "stderr"},
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage)),
		},
	})
	fail := func(format string, err error) (*instance, *pb.ConfigureResponse, error) {
		client.Kill()
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			return nil, nil, fmt.Errorf("plugins: %s: %s changed while starting: %w", p.spec.ID, p.path, ErrChecksum)
		}
		return nil, nil, fmt.Errorf("plugins: %s: "+format, p.spec.ID, err)
	}
	rpcClient, err := client.Client()
	if err != nil {
		return fail("starting %s: %w", fmt.Errorf("%s: %w", p.path, err))
	}
	gc, ok := rpcClient.(*plugin.GRPCClient)
	if !ok {
		return fail("%w", errors.New("plugin did not speak gRPC"))
	}
	raw, err := gc.Dispense(wire.PluginName)
	if err != nil {
		return fail("dispense: %w", err)
	}
	inst := &instance{
		client:  client,
		cmd:     cmd,
		conn:    gc.Conn,
		rpc:     raw.(pb.ProviderPluginClient),
		started: time.Now(),
	}
	if cmd.Process != nil {
		inst.pid = cmd.Process.Pid
	}
	resp, err := p.configure(ctx, inst.rpc)
	if err != nil {
		inst.kill()
		return nil, nil, err
	}
	return inst, resp, nil
}

// configure sends the spec's id and config.
func (p *Plugin) configure(ctx context.Context, rpc pb.ProviderPluginClient) (*pb.ConfigureResponse, error) {
	cctx, cancel := context.WithTimeout(ctx, p.t.configure)
	defer cancel()
	resp, err := rpc.Configure(cctx, &pb.ConfigureRequest{ProviderId: p.spec.ID, ConfigJson: p.spec.Config})
	if err != nil {
		if perr, ok := wire.ErrorFromStatus(err); ok {
			return nil, fmt.Errorf("plugins: %s: configure: %w", p.spec.ID, perr)
		}
		return nil, fmt.Errorf("plugins: %s: configure: %w (%w)", p.spec.ID, err, providers.ErrUnavailable)
	}
	return resp, nil
}

// up makes inst the serving process.
func (p *Plugin) up(inst *instance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cur = inst
	p.status.Healthy = true
	p.status.Since = time.Now()
	p.status.PID = inst.pid
}

// Provider returns the plugin's provider: ID() is the spec's id, Type() is
// "plugin", and it implements exactly the capability interfaces
// (PasswordAuthenticator, RedirectAuthenticator, RequestAuthenticator,
// MetadataPublisher) the plugin declared. It stays valid across restarts.
func (p *Plugin) Provider() providers.Provider { return p.provider }

// Status reports the plugin's health.
func (p *Plugin) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

// Err returns nil while the plugin serves calls, else why not: an error
// wrapping providers.ErrUnavailable and ErrPluginShutdown that carries the
// last failure. The plugin's provider reports it as its Health.
func (p *Plugin) Err() error {
	if p.current() != nil {
		return nil
	}
	return p.downError("")
}

// Close stops supervising the plugin and ends its process; calls in
// flight and later calls fail with ErrPluginShutdown. It waits for the
// process to exit and is safe to call more than once.
func (p *Plugin) Close() error {
	p.mu.Lock()
	closed := p.closed
	p.closed = true
	p.mu.Unlock()
	if closed {
		<-p.done
		return nil
	}
	p.cancel()
	<-p.done
	return nil
}

// current returns the serving process, or nil while the plugin is down.
func (p *Plugin) current() *instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// poke asks the supervisor to check the plugin's health now.
func (p *Plugin) poke() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}
