package build

import (
	"context"
	"strings"
	"testing"
)

func TestLogKeepsABoundedAmountOfStepOutput(t *testing.T) {
	l := newMessageLog()
	l.println("Step 1/2 : RUN yes")
	chunk := strings.Repeat("y\n", 1<<15) // 64 KiB
	for range (maxOutput / len(chunk)) + 10 {
		l.Write([]byte(chunk))
	}
	l.println("Step 2/2 : CMD sh")
	l.add(Message{ImageID: "sha256:abc"})

	text := l.text()
	if n := strings.Count(text, "y\n"); n != maxOutput/2 {
		t.Errorf("kept %d lines of output, want %d", n, maxOutput/2)
	}
	if !strings.Contains(text, "passed 16 MiB") || !strings.HasSuffix(text, "Step 2/2 : CMD sh\n") {
		t.Errorf("the log lacks the notice or the builder's later lines: ...%s", text[len(text)-200:])
	}
	var last Message
	l.follow(context.Background(), func(m Message) error { last = m; return nil })
	if last.ImageID != "sha256:abc" {
		t.Errorf("the log's last message is %+v", last)
	}
}
