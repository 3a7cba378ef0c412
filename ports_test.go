package main

// End-to-end tests of the default bridge and published ports: the
// tutorial's run -d -p 8080:80 from both CLIs. Each daemon runs in a
// network namespace of the test's, so its ports and bridge are nobody
// else's and every request stays on that namespace's loopback and bridge.

import (
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// webCmd serves a page made in the container with busybox httpd.
const webCmd = "mkdir -p /www && echo hello from $(hostname) > /www/index.html && exec httpd -f -p 80 -h /www"

// waitForPage waits until GET url answers with a page and returns it.
func waitForPage(t *testing.T, d *skiffd, url string) string {
	t.Helper()
	var body string
	waitFor(t, "GET "+url+" answers", func() bool {
		var err error
		body, err = d.httpGet(url)
		return err == nil
	})
	return body
}

func TestPublishedPortServesThePage(t *testing.T) {
	t.Parallel()
	d := startSkiffdInNetNS(t)
	d.importImage(t, "busybox", nil)

	// The tutorial's step, from skiff's CLI.
	id := strings.TrimSpace(mustSucceed(t, "run -d -p", d.skiff("run", "-d", "--name", "web", "-p", "8080:80", "busybox", "sh", "-c", webCmd)))
	if body := waitForPage(t, d, "http://127.0.0.1:8080/"); body != "hello from "+id[:12]+"\n" {
		t.Errorf("GET through the published port: %q", body)
	}
	for _, cli := range []func(...string) result{d.skiff, d.docker} {
		if out := mustSucceed(t, "port", cli("port", "web")); out != "80/tcp -> 0.0.0.0:8080\n" {
			t.Errorf("port web: %q", out)
		}
		if out := mustSucceed(t, "port 80", cli("port", "web", "80")); out != "0.0.0.0:8080\n" {
			t.Errorf("port web 80: %q", out)
		}
		if out := mustSucceed(t, "ps", cli("ps", "--format", "{{.Ports}}")); out != "0.0.0.0:8080->80/tcp\n" {
			t.Errorf("ps PORTS: %q", out)
		}
	}
	ip := inspect(t, d, "{{.NetworkSettings.IPAddress}}", "web")
	if got := inspect(t, d, "{{.NetworkSettings.Networks.bridge.IPAddress}} {{.NetworkSettings.Gateway}} {{.NetworkSettings.MacAddress}}", "web"); !strings.HasPrefix(got, ip+" ") || !strings.Contains(got, " 02:42:") {
		t.Errorf("inspect: IPAddress %s, then %q", ip, got)
	}
	if got := inspect(t, d, "{{json .NetworkSettings.Ports}}", "web"); got != `{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]}` {
		t.Errorf("inspect Ports: %s", got)
	}

	// From the docker CLI, on loopback only, and a host port taken.
	mustSucceed(t, "docker run -d -p", d.docker("run", "-d", "--name", "web2", "-p", "127.0.0.1:8081:80", "busybox", "sh", "-c", webCmd))
	waitForPage(t, d, "http://127.0.0.1:8081/")
	r := d.docker("run", "-d", "--name", "web3", "-p", "127.0.0.1:8081:80", "busybox", "sh", "-c", webCmd)
	if r.code == 0 || !strings.Contains(r.stderr, "Bind for 127.0.0.1:8081 failed: port is already allocated") {
		t.Errorf("a second container on a taken port: %+v", r)
	}
	if got := inspect(t, d, "{{.State.Status}}", "web3"); got != "created" {
		t.Errorf("the container that could not have its port is %s", got)
	}
	if body := waitForPage(t, d, "http://127.0.0.1:8081/"); !strings.HasPrefix(body, "hello from") {
		t.Errorf("the first container's port after the refused second: %q", body)
	}

	// Container to container by address, on the default bridge.
	out := mustSucceed(t, "wget", d.docker("run", "--rm", "busybox", "wget", "-qO-", "http://"+ip+"/"))
	if out != "hello from "+id[:12]+"\n" {
		t.Errorf("wget from another container: %q", out)
	}
	// /etc/hosts and resolv.conf: the container's own address and name,
	// --add-host, --dns.
	out = mustSucceed(t, "cat", d.skiff("run", "--rm", "-h", "box", "--add-host", "db:10.9.8.7", "--dns", "192.0.2.53", "busybox", "cat", "/etc/hosts", "/etc/resolv.conf"))
	for _, want := range []string{"10.9.8.7\tdb\n", "\tbox\n", "nameserver 192.0.2.53\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("hosts and resolv.conf lack %q:\n%s", want, out)
		}
	}

	// stop/start keeps the mapping; a stopped container's port is freed.
	mustSucceed(t, "stop", d.docker("stop", "-t", "0", "web"))
	if _, err := d.httpGet("http://127.0.0.1:8080/"); err == nil {
		t.Error("the port still answers after stop")
	}
	if out := mustSucceed(t, "port", d.docker("port", "web")); out != "" {
		t.Errorf("port of a stopped container: %q", out)
	}
	mustSucceed(t, "start", d.docker("start", "web"))
	waitForPage(t, d, "http://127.0.0.1:8080/")
	if got := inspect(t, d, "{{.NetworkSettings.IPAddress}}", "web"); got != ip {
		t.Errorf("address after a restart: %s, was %s", got, ip)
	}

	// A killed daemon's containers stay reachable, and after its restart.
	d.killDaemon(t)
	waitForPage(t, d, "http://127.0.0.1:8080/")
	d2 := d.restartDaemon(t)
	waitForPage(t, d2, "http://127.0.0.1:8080/")
	if out := mustSucceed(t, "port", d2.skiff("port", "web")); out != "80/tcp -> 0.0.0.0:8080\n" {
		t.Errorf("port after a daemon restart: %q", out)
	}
	mustSucceed(t, "stop", d2.docker("stop", "-t", "0", "web"))
	if _, err := d2.httpGet("http://127.0.0.1:8080/"); err == nil {
		t.Error("the port still answers after stop, once the daemon restarted")
	}
}

func TestBridgeLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	d := startSkiffdInNetNS(t)
	d.importImage(t, "busybox", nil)
	const n = 100 // the networking issue's count
	var ids []string
	for i := range n {
		port := strconv.Itoa(9000 + i)
		ids = append(ids, strings.TrimSpace(mustSucceed(t, "run -d", d.docker("run", "-d", "-p", port+":80", "-p", "127.0.0.1::53/udp", "busybox", "sleep", "60"))))
	}
	if _, rules := d.networkOf(t, ids); rules == 0 {
		t.Fatal("no rule counted for the running containers: the count is blind")
	}
	mustSucceed(t, "run --rm", d.docker("run", "--rm", "-p", "9100:80", "busybox", "true"))
	checkNoLeftovers(t, d)
	if held := d.addresses(t); held != 0 {
		t.Errorf("%d addresses still held", held)
	}
	// The host ports are free again: a container takes them all.
	for i := range n {
		port := strconv.Itoa(9000 + i)
		mustSucceed(t, "run -d", d.docker("run", "-d", "-p", port+":80", "busybox", "sleep", "60"))
	}
}

// addresses counts the addresses containers hold in d's IPAM.
func (d *skiffd) addresses(t *testing.T) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(d.root, "skiff.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM network_addresses`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A container whose process dies without the API (killed from the host,
// as a crash) gives back its published ports and its veth at once; its
// address stays for its next start and goes with rm.
func TestCrashedContainerLeavesNoPortOrVeth(t *testing.T) {
	t.Parallel()
	d := startSkiffdInNetNS(t)
	d.importImage(t, "busybox", nil)
	id := strings.TrimSpace(mustSucceed(t, "run -d", d.docker("run", "-d", "-p", "9200:80", "busybox", "sleep", "600")))
	if veths, rules := d.networkOf(t, []string{id}); veths != 1 || rules == 0 {
		t.Fatalf("running: %d veths, %d rules", veths, rules)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(inspect(t, d, "{{.State.Pid}}", id)))
	if err != nil || pid <= 0 {
		t.Fatalf("the container's pid: %v", err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the container to be seen exited", func() bool {
		return strings.TrimSpace(inspect(t, d, "{{.State.Status}}", id)) == "exited"
	})
	waitFor(t, "its veth and rules to go", func() bool {
		veths, rules := d.networkOf(t, []string{id})
		return veths == 0 && rules == 0
	})
	// The port is free again.
	mustSucceed(t, "run -d on the crashed one's port", d.docker("run", "-d", "-p", "9200:80", "busybox", "sleep", "600"))
	mustSucceed(t, "rm", d.docker("rm", id))
	if held := d.addresses(t); held != 1 {
		t.Errorf("%d addresses held after rm of the crashed container, want the other container's 1", held)
	}
}
