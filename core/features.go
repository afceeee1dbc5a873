package core

import "github.com/crun-project/crun/sdk/spec"

// Features lists what this crun supports beyond protocol 1, as plugins
// see it in ContributeRequest.Features: every child step kind its
// executor carries out (core/spawn), every host step kind it performs
// (hoststeps.go), and the protocol's features. TestFeaturesNameEveryStepKind
// keeps the lists in step with spec.
func Features() []string {
	features := []string{spec.FeatureFacts, spec.FeatureLists, spec.FeatureMountIfExists}
	for _, k := range []string{"mount", "sethostname", "mkdir", "symlink", "chdir", "chroot", "pivot_root",
		"copy_file", "join_cgroup", "mask", "rlimit", "set_user", "capabilities", "no_new_privs", "seccomp"} {
		features = append(features, spec.FeatureStep(k))
	}
	for _, k := range []string{"mkdir", "write_file", "write_pid", "remove_dir", "kill_cgroup", "report", "hook", "id_map"} {
		features = append(features, spec.FeatureHostStep(k))
	}
	return features
}
