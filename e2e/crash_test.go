package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

// envWriterChild makes the test binary a writer that the test kills with -9.
const envWriterChild = "GATEHOUSE_E2E_WRITER_DB"

// writerChild writes users in transactions (user + group membership +
// session each) forever, printing "committed N" after each commit.
func writerChild(dbPath string) int {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, dbPath, sqlstore.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	g, err := st.GroupByName(ctx, "writers")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := 0; ; i++ {
		err := st.InTx(ctx, func(tx store.Store) error {
			u := &store.User{Username: fmt.Sprintf("writer-%d", i), Attributes: store.Attributes{"pad": strings.Repeat("x", 2000)}}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			if err := tx.AddGroupMember(ctx, g.UUID, u.PK); err != nil {
				return err
			}
			return tx.CreateSession(ctx, &store.Session{Key: uuid.NewString(), UserPK: &u.PK, Expires: time.Now().Add(time.Hour)})
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("committed %d\n", i)
	}
}

// kill -9 in the middle of writes leaves the SQLite database consistent: the
// integrity check passes, every transaction the writer saw commit is there
// whole, none is there in part, and gatehouse starts on it.
func TestKill9DuringWriteSQLite(t *testing.T) {
	dataDir := t.TempDir()
	dbPath := filepath.Join(dataDir, "gatehouse.db")
	ctx := context.Background()

	// Prepare the database the way the binary does.
	env := baseEnv(dataDir)
	p := start(t, env, "server")
	p.waitReady(30 * time.Second)
	p.stop(syscall.SIGTERM, 30*time.Second)
	st, err := sqlstore.OpenSQLite(ctx, dbPath, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateGroup(ctx, &store.Group{Name: "writers"}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	reported := 0
	for round := range 3 {
		self, _ := os.Executable()
		cmd := exec.Command(self, "-test.run=^$")
		cmd.Env = append(os.Environ(), envWriterChild+"="+dbPath)
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		last := -1
		// Kill at a different point each round.
		killAfter := 150 + round*97
		for sc.Scan() {
			n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "committed "))
			if err == nil {
				last = n
			}
			if last >= killAfter {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		for sc.Scan() { // the writer may have printed more before it died
			if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "committed ")); err == nil {
				last = n
			}
		}
		_ = cmd.Wait()
		if last < killAfter {
			t.Fatalf("round %d: writer stopped after %d commits, before the kill", round, last)
		}

		db, err := sql.Open("sqlite", dbPath)
		if err != nil {
			t.Fatal(err)
		}
		var integrity string
		if err := db.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
			t.Fatalf("round %d: integrity_check = %q, %v", round, integrity, err)
		}
		var users, members, sessions int
		_ = db.QueryRow("SELECT count(*) FROM users WHERE username <> 'akadmin'").Scan(&users)
		_ = db.QueryRow("SELECT count(*) FROM group_members gm JOIN groups g ON g.uuid = gm.group_uuid WHERE g.name = 'writers'").Scan(&members)
		_ = db.QueryRow("SELECT count(*) FROM sessions").Scan(&sessions)
		db.Close()
		if users != members || users != sessions {
			t.Fatalf("round %d: a transaction survived in part: %d users, %d memberships, %d sessions", round, users, members, sessions)
		}
		// Every commit the writer reported is there; at most one more per
		// round (committed, killed before it could print).
		reported += last + 1
		if users < reported || users > reported+round+1 {
			t.Fatalf("round %d: writers reported %d commits in all, database has %d", round, reported, users)
		}
		st, err := sqlstore.OpenSQLite(ctx, dbPath, sqlstore.Options{})
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		if _, err := st.UserByUsername(ctx, fmt.Sprintf("writer-%d", last)); err != nil {
			t.Fatalf("round %d: last reported user missing: %v", round, err)
		}
		st.Close()
		// The next round numbers from 0 again: move this round's names aside.
		renameWriters(t, dbPath, round)
	}

	// Gatehouse starts on the database that survived the kills.
	p2 := start(t, env, "server")
	p2.waitReady(30 * time.Second)
	if code := p2.stop(syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Fatalf("exit status = %d", code)
	}
}

func renameWriters(t *testing.T, dbPath string, round int) {
	t.Helper()
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE users SET username = 'r" + strconv.Itoa(round) + "-' || username WHERE username LIKE 'writer-%'"); err != nil {
		t.Fatal(err)
	}
}

// kill -9 of the server itself at random moments of its first start
// (migrations, bootstrap), then a normal start: it recovers and is ready.
func TestKill9DuringStartup(t *testing.T) {
	dataDir := t.TempDir()
	env := baseEnv(dataDir)
	env["GATEHOUSE_BOOTSTRAP_PASSWORD"] = bootstrapPassword
	for _, after := range []time.Duration{5 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond} {
		p := start(t, env, "server")
		time.Sleep(after)
		p.stop(syscall.SIGKILL, 10*time.Second)
	}
	p := start(t, env, "server")
	p.waitReady(30 * time.Second)
	p.stop(syscall.SIGTERM, 30*time.Second)
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dataDir, "gatehouse.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.UserByUsername(context.Background(), "akadmin"); err != nil {
		t.Errorf("akadmin after the crashes: %v", err)
	}
}
