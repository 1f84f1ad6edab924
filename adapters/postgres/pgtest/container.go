package pgtest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"time"

	"github.com/moby/moby/client"

	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
)

const (
	dockerProbeTimeout = 15 * time.Second
	containerTimeout   = 2 * time.Minute
)

// fromTestcontainers starts the image in Docker, if the daemon answers and
// the image is already there (nothing is ever pulled).
func fromTestcontainers() (*server, error) {
	image := os.Getenv(EnvImage)
	if image == "" {
		image = DefaultImage
	}
	// Ryuk, the reaper container, is an image that cannot be pulled here;
	// Main terminates the container itself instead. testcontainers reads
	// this once, so it must be set before the first call into it.
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}

	probe, cancel := context.WithTimeout(context.Background(), dockerProbeTimeout)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(probe)
	if err != nil {
		return nil, fmt.Errorf("no Docker daemon: %w", err)
	}
	_, err = cli.ImageInspect(probe, image)
	if err == nil {
		useLocalhostIfDaemonIsLocal(probe, cli)
	}
	_ = cli.Close()
	if err != nil {
		return nil, fmt.Errorf("image %s is not present locally (pgtest does not pull; set %s or build it): %w", image, EnvImage, err)
	}

	ctx, cancelRun := context.WithTimeout(context.Background(), containerTimeout)
	defer cancelRun()
	ctr, err := tcpostgres.Run(ctx, image,
		tcpostgres.WithDatabase("postgres"),
		tcpostgres.WithUsername("postgres"),
		tcpostgres.WithPassword("postgres"),
		testcontainers.WithCmd("postgres", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"),
		tcpostgres.BasicWaitStrategies(),
	)
	if err != nil {
		if termErr := testcontainers.TerminateContainer(ctr); termErr != nil {
			err = fmt.Errorf("%w (and terminating it: %v)", err, termErr)
		}
		return nil, fmt.Errorf("start %s: %w", image, err)
	}
	stop := func() error {
		if err := testcontainers.TerminateContainer(ctr); err != nil {
			return fmt.Errorf("terminate %s container: %w", image, err)
		}
		return nil
	}
	dsn, err := ctr.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		return nil, errorsJoinStop(fmt.Errorf("connection string: %w", err), stop)
	}
	s := &server{adminURL: dsn, ownsData: true, stop: stop}
	if err := s.connect(); err != nil {
		return nil, errorsJoinStop(fmt.Errorf("connect to %s container: %w", image, err), stop)
	}
	host := ""
	if u, err := url.Parse(dsn); err == nil {
		host = u.Host
	}
	s.source = fmt.Sprintf("using testcontainers image %s (PostgreSQL %s) on %s", image, s.version(), host)
	return s, nil
}

// useLocalhostIfDaemonIsLocal points testcontainers at localhost when the
// Docker daemon shares this process's network namespace, which it knows
// because the default bridge's subnet holds one of our own addresses.
//
// testcontainers guesses the address of published ports: "localhost",
// unless /.dockerenv exists, when it assumes Docker-in-Docker and dials the
// bridge gateway or, failing that, the default route's gateway. On a
// sandbox that is itself a container but runs its own daemon (CI here),
// the bridge has no gateway in its IPAM config and the default route leads
// off the machine, so every wait times out. An explicit
// TESTCONTAINERS_HOST_OVERRIDE always wins.
func useLocalhostIfDaemonIsLocal(ctx context.Context, cli *testcontainers.DockerClient) {
	if _, set := os.LookupEnv(hostOverrideEnv); set {
		return
	}
	if u, err := url.Parse(cli.DaemonHost()); err != nil || u.Scheme != "unix" {
		return
	}
	bridge, err := cli.NetworkInspect(ctx, "bridge", client.NetworkInspectOptions{})
	if err != nil {
		return
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return
	}
	for _, cfg := range bridge.Network.IPAM.Config {
		for _, a := range addrs {
			ipNet, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipNet.IP)
			if ok && cfg.Subnet.IsValid() && cfg.Subnet.Contains(ip.Unmap()) {
				_ = os.Setenv(hostOverrideEnv, "localhost")
				return
			}
		}
	}
}

const hostOverrideEnv = "TESTCONTAINERS_HOST_OVERRIDE"

// errorsJoinStop stops what was started and reports both failures.
func errorsJoinStop(err error, stop func() error) error {
	if stopErr := stop(); stopErr != nil {
		return fmt.Errorf("%w (and stopping: %v)", err, stopErr)
	}
	return err
}
