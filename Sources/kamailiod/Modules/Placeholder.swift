public enum ModulesPlaceholder {}
