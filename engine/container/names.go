package container

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sync"

	"github.com/containerd/errdefs"
)

// validName is Docker's rule for container names.
var validName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`) })

var (
	adjectives = []string{
		"admiring", "amazing", "blissful", "bold", "brave", "busy", "calm", "clever", "cool", "dazzling",
		"determined", "eager", "ecstatic", "elegant", "epic", "fervent", "focused", "friendly", "gallant",
		"gifted", "goofy", "happy", "hopeful", "inspiring", "jolly", "keen", "kind", "laughing", "lucid",
		"magical", "modest", "nice", "nifty", "optimistic", "peaceful", "pensive", "quirky", "relaxed",
		"serene", "sharp", "stoic", "sweet", "tender", "trusting", "upbeat", "vibrant", "wizardly", "zealous",
	}
	nouns = []string{
		"albattani", "babbage", "banach", "bardeen", "bell", "blackwell", "bohr", "curie", "darwin", "dijkstra",
		"einstein", "euclid", "faraday", "fermat", "feynman", "galileo", "gauss", "goldberg", "hamilton",
		"hawking", "hopper", "hypatia", "johnson", "kepler", "knuth", "lamarr", "lovelace", "maxwell",
		"mccarthy", "meitner", "newton", "noether", "pascal", "pike", "ritchie", "shannon", "tesla",
		"thompson", "torvalds", "turing", "volta", "wozniak", "wright", "yalow",
	}
)

// generateName returns an unused adjective_noun name, as Docker does.
func (s *Service) generateName(ctx context.Context) (string, error) {
	for attempt := 0; attempt < 20; attempt++ {
		name := adjectives[rand.IntN(len(adjectives))] + "_" + nouns[rand.IntN(len(nouns))]
		if attempt >= 5 {
			name = fmt.Sprintf("%s%d", name, rand.IntN(100))
		}
		taken, err := s.nameTaken(ctx, name)
		if err != nil {
			return "", err
		}
		if !taken {
			return name, nil
		}
	}
	return "", fmt.Errorf("could not find a free container name")
}

func (s *Service) nameTaken(ctx context.Context, name string) (bool, error) {
	var n int
	err := s.db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM containers WHERE name = ?`, name).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check container name %s: %w", name, err)
	}
	return n > 0, nil
}

// nameConflict is Docker's message for a name in use.
func nameConflict(name, id string) error {
	return errdefs.ErrConflict.WithMessage(fmt.Sprintf(
		"Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", name, id))
}

func checkName(name string) error {
	if !validName().MatchString(name) {
		return errdefs.ErrInvalidArgument.WithMessage(fmt.Sprintf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name))
	}
	return nil
}
