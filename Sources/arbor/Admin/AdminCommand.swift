// `arbor admin`: deployments in a sysroot.
import ArgumentParser

let adminCommands: [ParsableCommand.Type] = []
