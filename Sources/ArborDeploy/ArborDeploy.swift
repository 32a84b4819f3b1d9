// ArborDeploy: sysroots, deployments, boot entries and the /etc merge (OSTree's layout).
import ArborCore
