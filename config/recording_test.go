package config_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/config"
)

// A caller is told they may be recorded exactly when their topic records:
// the example's notice is its own prompt and the welcome no longer says
// so; saying it in the welcome (or any prompt but recording_notice) while
// a topic does not record is refused, and so is a recording topic without
// the notice.
func TestRecordingNotice(t *testing.T) {
	example, err := os.ReadFile("../configs/hotline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("../configs/hotline.yaml", example)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := cfg.Topic("complaints"); c == nil || !c.Record {
		t.Errorf("the example's complaints topic should record: %+v", c)
	}
	if tv, _ := cfg.Topic("travel"); tv == nil || tv.Record {
		t.Errorf("the example's travel topic should not record: %+v", tv)
	}
	if cfg.Recordings.Retention.D() != 720*time.Hour {
		t.Errorf("retention %v", cfg.Recordings.Retention.D())
	}

	welcomeEN := `en: "Hello! You have reached the public health hotline."`
	for _, tc := range []struct {
		name     string
		from, to string
		want     string // "" : accepted
	}{
		{"welcome says recorded, a topic does not record", welcomeEN,
			`en: "Hello! You have reached the public health hotline. Your call may be recorded."`,
			`prompt "welcome" (en) tells callers they may be recorded ("recorded"), but topic "elderly_delivery" does not record`},
		{"russian welcome says записан", `ru: "Здравствуйте! Вы позвонили в единый call-центр по вопросам здравоохранения."`,
			`ru: "Здравствуйте! Разговор может быть записан."`, `prompt "welcome" (ru) tells callers they may be recorded`},
		{"an appointment (запись на приём) is not a notice", `ru: "Здравствуйте! Вы позвонили в единый call-центр по вопросам здравоохранения."`,
			`ru: "Здравствуйте! Запись на приём — в меню."`, ""},
		{"a recording topic needs the notice", "  recording_notice:\n", "  recording_notice_old:\n",
			`topic "complaints" records its conversations: prompt "recording_notice", which tells its callers so, does not exist`},
		{"retention must be positive", "retention: 720h", "retention: 0s", "recordings: retention must be more than zero"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(string(example), tc.from, tc.to, 1)
			if bad == string(example) {
				t.Fatalf("the example has no %q", tc.from)
			}
			_, err := config.Parse("../configs/hotline.yaml", []byte(bad))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}

}
