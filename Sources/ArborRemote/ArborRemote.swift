// ArborRemote: remotes in the repository config and pulling over HTTP (and from local repositories).
import ArborCore
