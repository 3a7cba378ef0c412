package portmap

import (
	"net/netip"
	"slices"
	"testing"
)

var (
	any4 = netip.IPv4Unspecified()
	lo   = netip.MustParseAddr("127.0.0.1")
)

func TestParse(t *testing.T) {
	tests := []struct {
		spec    string
		want    []Binding
		wantErr bool
	}{
		{spec: "8080:80", want: []Binding{{Proto: "tcp", HostIP: any4, HostPort: 8080, ContainerPort: 80}}},
		{spec: "127.0.0.1:8080:80/udp", want: []Binding{{Proto: "udp", HostIP: lo, HostPort: 8080, ContainerPort: 80}}},
		{spec: "80", want: []Binding{{Proto: "tcp", HostIP: any4, ContainerPort: 80}}},
		{spec: "53/UDP", want: []Binding{{Proto: "udp", HostIP: any4, ContainerPort: 53}}},
		{spec: "127.0.0.1::80", want: []Binding{{Proto: "tcp", HostIP: lo, ContainerPort: 80}}},
		{spec: "8000-8001:80-81", want: []Binding{
			{Proto: "tcp", HostIP: any4, HostPort: 8000, ContainerPort: 80},
			{Proto: "tcp", HostIP: any4, HostPort: 8001, ContainerPort: 81},
		}},
		{spec: "8000-8010:80", want: []Binding{{Proto: "tcp", HostIP: any4, HostPort: 8000, HostPortEnd: 8010, ContainerPort: 80}}},
		{spec: "80-81", want: []Binding{
			{Proto: "tcp", HostIP: any4, ContainerPort: 80},
			{Proto: "tcp", HostIP: any4, ContainerPort: 81},
		}},
		{spec: "8000-8002:80-81", wantErr: true},
		{spec: "8080:80/sctp", wantErr: true},
		{spec: "8080:80/icmp", wantErr: true},
		{spec: "[::1]:8080:80", wantErr: true},
		{spec: "999.0.0.1:8080:80", wantErr: true},
		{spec: "70000:80", wantErr: true},
		{spec: "8080:0", wantErr: true},
		{spec: "0:80", wantErr: true},
		{spec: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := Parse([]string{tt.spec})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse(%q) error = %v, want error %v", tt.spec, err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Parse(%q) = %v, want %v", tt.spec, got, tt.want)
			}
		})
	}
}

func TestExposed(t *testing.T) {
	tests := []struct {
		name    string
		ports   []string
		want    []Binding
		wantErr bool
	}{
		{name: "none", ports: nil, want: nil},
		{name: "sorted, tcp by default, duplicates once", ports: []string{"8080/tcp", "53/udp", "53/tcp", "8080"}, want: []Binding{
			{Proto: "tcp", HostIP: any4, ContainerPort: 53},
			{Proto: "udp", HostIP: any4, ContainerPort: 53},
			{Proto: "tcp", HostIP: any4, ContainerPort: 8080},
		}},
		{name: "range", ports: []string{"7000-7001/udp"}, want: []Binding{
			{Proto: "udp", HostIP: any4, ContainerPort: 7000},
			{Proto: "udp", HostIP: any4, ContainerPort: 7001},
		}},
		{name: "sctp", ports: []string{"9/sctp"}, wantErr: true},
		{name: "not a port", ports: []string{"http"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Exposed(tt.ports)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Exposed(%q) error = %v, want error %v", tt.ports, err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Exposed(%q) = %v, want %v", tt.ports, got, tt.want)
			}
		})
	}
}

func TestBindingString(t *testing.T) {
	tests := []struct {
		b    Binding
		want string
	}{
		{Binding{Proto: "tcp", HostIP: any4, HostPort: 8080, ContainerPort: 80}, "0.0.0.0:8080:80/tcp"},
		{Binding{Proto: "udp", HostIP: lo, ContainerPort: 53}, "127.0.0.1::53/udp"},
		{Binding{Proto: "tcp", HostIP: any4, HostPort: 8000, HostPortEnd: 8010, ContainerPort: 80}, "0.0.0.0:8000-8010:80/tcp"},
	}
	for _, tt := range tests {
		if got := tt.b.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}
