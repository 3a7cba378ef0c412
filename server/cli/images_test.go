package cli

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/image"
)

// sampleImages covers each kind of listing row: tagged, tagged under several
// repositories, untagged, and known by digest only.
func sampleImages() []image.Summary {
	return []image.Summary{
		{
			ID:          sha("1"),
			RepoTags:    []string{"busybox:latest"},
			RepoDigests: []string{"busybox@sha256:" + strings.Repeat("d", 64)},
			Created:     ago(2 * time.Hour),
			Size:        4261550,
			SharedSize:  -1,
			Containers:  -1,
		},
		{
			ID:          sha("2"),
			ParentID:    sha("1"),
			RepoTags:    []string{"myapp:v1", "myapp:latest", "registry.example.com:5000/team/tool:1.0", "docker.io/library/foo:bar"},
			RepoDigests: []string{},
			Created:     ago(3 * 24 * time.Hour),
			Size:        123456789,
			SharedSize:  -1,
			Containers:  2,
		},
		{
			ID:          sha("3"),
			RepoTags:    []string{},
			RepoDigests: []string{},
			Created:     ago(time.Minute),
			Size:        999,
			SharedSize:  -1,
			Containers:  -1,
		},
		{
			ID:          sha("4"),
			RepoTags:    []string{},
			RepoDigests: []string{"alpine@sha256:" + strings.Repeat("e", 64)},
			Created:     ago(400 * 24 * time.Hour),
			Size:        7800000,
			SharedSize:  -1,
			Containers:  -1,
		},
	}
}

func TestImagesOutput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "table",
			args: nil,
			want: `REPOSITORY                            TAG       IMAGE ID       CREATED              SIZE
busybox                               latest    111111111111   2 hours ago          4.26MB
myapp                                 v1        222222222222   3 days ago           123MB
myapp                                 latest    222222222222   3 days ago           123MB
registry.example.com:5000/team/tool   1.0       222222222222   3 days ago           123MB
foo                                   bar       222222222222   3 days ago           123MB
<none>                                <none>    333333333333   About a minute ago   999B
alpine                                <none>    444444444444   13 months ago        7.8MB
`,
		},
		{
			name: "digests",
			args: []string{"--digests"},
			want: `REPOSITORY                            TAG       DIGEST                                                                    IMAGE ID       CREATED              SIZE
busybox                               latest    sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd   111111111111   2 hours ago          4.26MB
myapp                                 v1        <none>                                                                    222222222222   3 days ago           123MB
myapp                                 latest    <none>                                                                    222222222222   3 days ago           123MB
registry.example.com:5000/team/tool   1.0       <none>                                                                    222222222222   3 days ago           123MB
foo                                   bar       <none>                                                                    222222222222   3 days ago           123MB
<none>                                <none>    <none>                                                                    333333333333   About a minute ago   999B
alpine                                <none>    sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee   444444444444   13 months ago        7.8MB
`,
		},
		{
			// One ID per row, as docker prints them: a multi-tagged image
			// appears once per tag.
			name: "quiet",
			args: []string{"-q"},
			want: "111111111111\n222222222222\n222222222222\n222222222222\n222222222222\n333333333333\n444444444444\n",
		},
		{
			name: "custom template",
			args: []string{"--format", "{{.Repository}}:{{.Tag}} {{.Containers}}"},
			want: "busybox:latest N/A\nmyapp:v1 2\nmyapp:latest 2\nregistry.example.com:5000/team/tool:1.0 2\nfoo:bar 2\n<none>:<none> N/A\nalpine:<none> N/A\n",
		},
		{
			name: "custom table",
			args: []string{"--format", `table {{.ID}}\t{{.Size}}`, "--no-trunc"},
			want: "IMAGE ID                                                                  SIZE\n" +
				sha("1") + "   4.26MB\n" +
				strings.Repeat(sha("2")+"   123MB\n", 4) +
				sha("3") + "   999B\n" +
				sha("4") + "   7.8MB\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newFakeDaemon(t)
			d.answerJSON("GET /images/json", http.StatusOK, sampleImages())

			res := d.cli().run(t, append([]string{"images"}, tt.args...)...)

			res.expectSuccess(t)
			expectOutput(t, res.stdout, tt.want)
		})
	}
}

func TestImagesJSONFormat(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("GET /images/json", http.StatusOK, sampleImages()[:1])

	res := d.cli().run(t, "images", "--format", "json")

	res.expectSuccess(t)
	want := `{"Containers":"N/A","CreatedAt":"2025-06-01 10:00:00 +0000 UTC","CreatedSince":"2 hours ago",` +
		`"Digest":"\u003cnone\u003e","ID":"111111111111","Repository":"busybox","SharedSize":"N/A",` +
		`"Size":"4.26MB","Tag":"latest","UniqueSize":"N/A","VirtualSize":"4.262MB"}` + "\n"
	expectOutput(t, res.stdout, want)
}

func TestImagesWithNoImagesPrintsOnlyTheHeader(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("GET /images/json", http.StatusOK, []image.Summary{})

	res := d.cli().run(t, "images")

	res.expectSuccess(t)
	expectOutput(t, res.stdout, "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n")
	quiet := d.cli().run(t, "images", "-q")
	expectOutput(t, quiet.stdout, "")
}

func TestImagesQuery(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantAll     string
		wantFilters string
	}{
		{name: "default", args: nil},
		{name: "all", args: []string{"-a"}, wantAll: "1"},
		{name: "reference", args: []string{"busybox:latest"}, wantFilters: `{"reference":{"busybox:latest":true}}`},
		{
			name:        "filters",
			args:        []string{"-f", "dangling=true", "--filter", " Label = a=b", "app"},
			wantFilters: `{"dangling":{"true":true},"label":{"a=b":true},"reference":{"app":true}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newFakeDaemon(t)
			d.answerJSON("GET /images/json", http.StatusOK, []image.Summary{})

			d.cli().run(t, append([]string{"images"}, tt.args...)...).expectSuccess(t)

			query := d.lastRequest(t).Query
			if got := strings.Join(query["all"], ","); got != tt.wantAll {
				t.Errorf("all = %q, want %q", got, tt.wantAll)
			}
			if got := strings.Join(query["filters"], ","); got != tt.wantFilters {
				t.Errorf("filters = %s, want %s", got, tt.wantFilters)
			}
		})
	}
}

func TestImagesBadTemplate(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerJSON("GET /images/json", http.StatusOK, sampleImages())

	res := d.cli().run(t, "images", "--format", "{{.ID")

	if res.code != 1 || !strings.HasPrefix(res.stderr, "template parsing error: ") {
		t.Errorf("exit %d, stderr %q; want a template parsing error and exit 1", res.code, res.stderr)
	}
}
