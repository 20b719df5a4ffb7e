namespace Wrenn.Guest.Protocol;

/// <summary>Where the guest agent listens and the names of its procedures.</summary>
public static class AgentEndpoint
{
    /// <summary>The agent's TCP port inside the guest.</summary>
    public const int DefaultPort = 49999;

    public static class Process
    {
        public const string Start = "wrenn.guest.v1.ProcessService/Start";
        public const string SendInput = "wrenn.guest.v1.ProcessService/SendInput";
        public const string SendSignal = "wrenn.guest.v1.ProcessService/SendSignal";
        public const string List = "wrenn.guest.v1.ProcessService/List";
    }

    public static class Filesystem
    {
        public const string Stat = "wrenn.guest.v1.FilesystemService/Stat";
        public const string List = "wrenn.guest.v1.FilesystemService/List";
        public const string MakeDir = "wrenn.guest.v1.FilesystemService/MakeDir";
        public const string Move = "wrenn.guest.v1.FilesystemService/Move";
        public const string Remove = "wrenn.guest.v1.FilesystemService/Remove";
        public const string Read = "wrenn.guest.v1.FilesystemService/Read";
        public const string Write = "wrenn.guest.v1.FilesystemService/Write";
    }

    public static class System
    {
        public const string Health = "wrenn.guest.v1.SystemService/Health";
        public const string GetTime = "wrenn.guest.v1.SystemService/GetTime";
        public const string SetTime = "wrenn.guest.v1.SystemService/SetTime";
        public const string ReseedRandom = "wrenn.guest.v1.SystemService/ReseedRandom";
        public const string HasPtpClock = "wrenn.guest.v1.SystemService/HasPtpClock";
    }
}
