package cli

import "testing"

// A daemon's GET /system/df below API 1.52: the objects, which the CLI adds
// up. busybox's 1MB base layer is shared by both images; only "app" is used.
const diskUsageJSON = `{
	"LayersSize": 2500000,
	"Images": [
		{"Id": "sha256:a", "RepoTags": ["app:v1"], "Size": 2000000, "SharedSize": 1000000, "Containers": 1},
		{"Id": "sha256:b", "RepoTags": ["other:v1"], "Size": 1500000, "SharedSize": 1000000, "Containers": 0}
	],
	"Containers": [
		{"Id": "1", "State": "running", "SizeRw": 100},
		{"Id": "2", "State": "paused", "SizeRw": 50},
		{"Id": "3", "State": "exited", "SizeRw": 850}
	],
	"Volumes": [
		{"Name": "used", "UsageData": {"Size": 4000, "RefCount": 1}},
		{"Name": "spare", "UsageData": {"Size": 2500, "RefCount": 0}},
		{"Name": "unknown", "UsageData": {"Size": -1, "RefCount": 0}}
	],
	"BuildCache": [
		{"ID": "x", "Size": 300, "InUse": true},
		{"ID": "y", "Size": 700, "Shared": true},
		{"ID": "z", "Size": 200}
	]
}`

// The expected output is docker 28.2.2's for the same answer.
func TestSystemDf(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n" +
			"Images          2         1         2.5MB     1.5MB (60%)\n" +
			"Containers      3         2         1kB       850B (85%)\n" +
			"Local Volumes   3         1         6.5kB     2.5kB (38%)\n" +
			"Build Cache     3         1         500B      200B\n"},
		{[]string{"--format", "json"}, `{"Active":"1","Reclaimable":"1.5MB (60%)","Size":"2.5MB","TotalCount":"2","Type":"Images"}` + "\n" +
			`{"Active":"2","Reclaimable":"850B (85%)","Size":"1kB","TotalCount":"3","Type":"Containers"}` + "\n" +
			`{"Active":"1","Reclaimable":"2.5kB (38%)","Size":"6.5kB","TotalCount":"3","Type":"Local Volumes"}` + "\n" +
			`{"Active":"1","Reclaimable":"200B","Size":"500B","TotalCount":"3","Type":"Build Cache"}` + "\n"},
		{[]string{"--format", "table {{.Type}}\t{{.Size}}"}, "TYPE            SIZE\nImages          2.5MB\nContainers      1kB\nLocal Volumes   6.5kB\nBuild Cache     500B\n"},
	}
	for _, tt := range tests {
		d := newFakeDaemon(t)
		d.handle("GET /system/df", rawJSON(diskUsageJSON))

		res := d.cli().run(t, append([]string{"system", "df"}, tt.args...)...)

		res.expectSuccess(t)
		expectOutput(t, res.stdout, tt.want)
		expectRoutes(t, d, "GET /system/df")
	}
}

func TestSystemDfOfAnEmptyDaemon(t *testing.T) {
	d := newFakeDaemon(t)
	d.handle("GET /system/df", rawJSON(`{"LayersSize":0,"Images":[],"Containers":[],"Volumes":[],"BuildCache":[]}`))

	res := d.cli().run(t, "system", "df")

	res.expectSuccess(t)
	expectOutput(t, res.stdout, "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE\n"+
		"Images          0         0         0B        0B\n"+
		"Containers      0         0         0B        0B\n"+
		"Local Volumes   0         0         0B        0B\n"+
		"Build Cache     0         0         0B        0B\n")
}
