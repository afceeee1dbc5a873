package wire

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/crun-project/crun/sdk/internal/pb"
	"github.com/crun-project/crun/sdk/spec"
)

// rawServer answers Contribute with fixed JSON, as a plugin built against
// a newer protocol might.
type rawServer struct {
	pb.UnimplementedPlannerServer
	answer string
}

func (s rawServer) Contribute(context.Context, *pb.CallRequest) (*pb.Payload, error) {
	return &pb.Payload{Json: []byte(s.answer)}, nil
}

func TestContributionWithAnUnknownStepKindIsRefused(t *testing.T) {
	conn, _ := plugin.TestGRPCConn(t, func(s *grpc.Server) {
		pb.RegisterPlannerServer(s, rawServer{answer: `{"steps":[{"phase":"restrict","landlock":{"rules":"x"}}]}`})
	})
	defer conn.Close()
	r := NewClient(conn)
	_, err := r.Contribute(context.Background(), "future", spec.ContributeRequest{})
	if err == nil || !strings.Contains(err.Error(), `plugin "future": contribute: answer crun cannot read`) ||
		!strings.Contains(err.Error(), `unknown field "landlock"`) {
		t.Fatalf("error %v; want the unknown step kind named", err)
	}
}
