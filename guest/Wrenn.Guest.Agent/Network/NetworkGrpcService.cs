using Grpc.Core;
using Wrenn.Guest.Protocol.V1;

namespace Wrenn.Guest.Agent.Network;

/// <summary>The guest's network as its programs see it: the TCP ports something listens on.</summary>
internal sealed class NetworkGrpcService : NetworkService.NetworkServiceBase
{
    public override Task<ListListeningPortsResponse> ListListeningPorts(ListListeningPortsRequest request, ServerCallContext context)
    {
        var response = new ListListeningPortsResponse();
        response.Sockets.AddRange(ListeningSockets.Read());
        return Task.FromResult(response);
    }
}
