// ArborDeploy: sysroots, deployments, boot entries and the /etc merge (OSTree's layout, spec §9).
// Entry points: `Sysroot` (init-fs, os-init, load, status) and its operations deploy, upgrade,
// switchTo, rollback, undeploy, pin, cleanup, configDiff, editKernelArgs, and blessBoot with
// `HealthCheck` (boot counting: ArborDeploy.docc/BootCounting.md).
import ArborCore
