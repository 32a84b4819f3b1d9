// `admin config-diff`: the default deployment's /etc against its pristine `usr/etc`.
import ArborCore

extension Sysroot {
    /// The administrator's changes in the /etc of the default deployment (of `stateroot`, if given).
    public func configDiff(stateroot: String? = nil) throws -> (Deployment, EtcChanges) {
        let state = try load()
        guard let d = bootedDeployment(state) ?? state.mergeDeployment(stateroot: stateroot) else {
            throw ArborError.notFound("no deployment\(stateroot.map { " in stateroot \($0)" } ?? "")")
        }
        guard let deployDir = try deployDirectory(d.stateroot, create: false) else { throw ArborError.notFound("stateroot \(d.stateroot)") }
        let root = try deployDir.openDirectory(d.name)
        guard let pristine = try root.openDirectoryPathIfExists("usr/etc"), let etc = try root.openDirectoryPathIfExists("etc") else {
            throw ArborError.notFound("deployment \(d.name) has no /etc or /usr/etc")
        }
        return (d, try EtcDiff.diff(pristine: pristine, current: etc))
    }
}
