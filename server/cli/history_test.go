package cli

import (
	"net/http"
	"testing"
	"time"

	"github.com/moby/moby/api/types/image"
)

func sampleHistory() []image.HistoryResponseItem {
	return []image.HistoryResponseItem{
		{
			ID:        sha("2"),
			Created:   ago(time.Hour),
			CreatedBy: `/bin/sh -c #(nop)  CMD ["sh" "-c" "echo hello world && sleep 1000"]`,
			Tags:      []string{"myapp:v1"},
		},
		{
			ID:        "<missing>",
			Created:   ago(2 * time.Hour),
			CreatedBy: "/bin/sh -c #(nop) ADD file:abc\tin / ",
			Size:      4261550,
			Comment:   "imported from -",
		},
	}
}

func TestHistoryOutput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "table",
			want: `IMAGE          CREATED             CREATED BY                                      SIZE      COMMENT
222222222222   About an hour ago   /bin/sh -c #(nop)  CMD ["sh" "-c" "echo hell…   0B        
<missing>      2 hours ago         /bin/sh -c #(nop) ADD file:abc in /             4.26MB    imported from -
`,
		},
		{
			name: "no-trunc",
			args: []string{"--no-trunc"},
			want: `IMAGE                                                                     CREATED             CREATED BY                                                            SIZE      COMMENT
sha256:2222222222222222222222222222222222222222222222222222222222222222   About an hour ago   /bin/sh -c #(nop)  CMD ["sh" "-c" "echo hello world && sleep 1000"]   0B        
<missing>                                                                 2 hours ago         /bin/sh -c #(nop) ADD file:abc in /                                   4.26MB    imported from -
`,
		},
		{
			name: "not human",
			args: []string{"-H=false"},
			want: `IMAGE          CREATED AT             CREATED BY                                      SIZE      COMMENT
222222222222   2025-06-01T11:00:00Z   /bin/sh -c #(nop)  CMD ["sh" "-c" "echo hell…   0         
<missing>      2025-06-01T10:00:00Z   /bin/sh -c #(nop) ADD file:abc in /             4261550   imported from -
`,
		},
		{
			name: "quiet",
			args: []string{"-q"},
			want: "222222222222\n<missing>\n",
		},
		{
			name: "json",
			args: []string{"--format", "json"},
			want: `{"Comment":"","CreatedAt":"2025-06-01T11:00:00Z","CreatedBy":"/bin/sh -c #(nop)  CMD [\"sh\" \"-c\" \"echo hell…","CreatedSince":"About an hour ago","ID":"222222222222","Size":"0B"}
{"Comment":"imported from -","CreatedAt":"2025-06-01T10:00:00Z","CreatedBy":"/bin/sh -c #(nop) ADD file:abc in / ","CreatedSince":"2 hours ago","ID":"\u003cmissing\u003e","Size":"4.26MB"}
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newFakeDaemon(t)
			d.answerJSON("GET /images/myapp:v1/history", http.StatusOK, sampleHistory())

			res := d.cli().run(t, append([]string{"history", "myapp:v1"}, tt.args...)...)

			res.expectSuccess(t)
			expectOutput(t, res.stdout, tt.want)
		})
	}
}

func TestHistoryOfMissingImage(t *testing.T) {
	d := newFakeDaemon(t)
	d.answerError("GET /images/nope/history", http.StatusNotFound, "No such image: nope:latest")

	d.cli().run(t, "image", "history", "nope").
		expectExit(t, 1, "Error response from daemon: No such image: nope:latest\n")
}
